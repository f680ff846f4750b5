// Maps every failure to the contract's error shape. Known errors keep their code; errors thrown by Koa's own
// middleware (body parser, rate limiter) carry an HTTP status that maps to a code; an unreachable database is a
// 503 (services/failures.ts); anything else is a 500 `internal` with no stack or SQL unless errors are explicitly
// exposed in development.
import type { Middleware } from 'koa';
import type { ErrorCode } from '../../contract/errors.js';
import { AppError, RATE_LIMITED_MESSAGE } from '../../core/errors.js';
import { publicError } from '../../services/failures.js';
import type { ParleyState } from '../context.js';

const CODE_FOR_STATUS: Record<number, ErrorCode> = {
  400: 'validation_failed',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'validation_failed',
  429: 'rate_limited',
  503: 'overloaded',
};

interface HttpLikeError {
  status?: number;
  statusCode?: number;
  type?: string;
  expose?: boolean;
  headers?: Record<string, string | number>;
  message?: string;
}

function toAppError(error: unknown): AppError {
  const httpError = (error ?? {}) as HttpLikeError;
  const status = httpError.status ?? httpError.statusCode;
  const code = status ? CODE_FOR_STATUS[status] : undefined;
  if (error instanceof AppError || !code) return publicError(error).error;
  // co-body marks a JSON.parse failure with status 400 and nothing else.
  if (httpError.type === 'entity.parse.failed' || (status === 400 && error instanceof SyntaxError))
    return new AppError('validation_failed', 'Malformed JSON body');
  if (httpError.type === 'entity.too.large') return new AppError('payload_too_large', 'Request body is too large');
  const mapped = new AppError(code, httpError.expose && httpError.message ? httpError.message : defaultMessage(code));
  const retryAfter = Number(httpError.headers?.['Retry-After']);
  if (code === 'rate_limited' || code === 'overloaded')
    mapped.retryAfterSec = Math.max(1, Number.isFinite(retryAfter) ? retryAfter : 1);
  return mapped;
}

function defaultMessage(code: ErrorCode): string {
  return code === 'rate_limited' ? RATE_LIMITED_MESSAGE : code.replace('_', ' ');
}

export function errorHandler(exposeErrors: boolean): Middleware<ParleyState> {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw new AppError('not_found', 'No such route');
    } catch (error) {
      let appError = toAppError(error);
      if (appError.code === 'internal') {
        ctx.state.log?.error({ err: error }, 'unhandled error');
        if (exposeErrors && error instanceof Error) appError = new AppError('internal', error.message);
      }
      ctx.status = appError.status;
      ctx.body = appError.toBody();
      if (appError.retryAfterSec) ctx.set('Retry-After', String(appError.retryAfterSec));
    }
  };
}
