// One error type for the whole service. Every failure a client may see is an AppError with a contract code;
// the HTTP error middleware and the socket ack both render it as {error: {code, message, details?}}.
import type { ErrorBody, ErrorCode } from '../contract/errors.js';

export const ERROR_STATUS = {
  validation_failed: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  // An extension of the contract for attachment downloads (docs/attachments.md): a Range past the end.
  range_not_satisfiable: 416,
  rate_limited: 429,
  internal: 500,
  overloaded: 503,
} as const satisfies Record<ErrorCode, number>;

export class AppError extends Error {
  readonly status: number;
  /** Seconds, for rate_limited and overloaded answers. */
  retryAfterSec?: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'AppError';
    this.status = ERROR_STATUS[code];
  }

  toBody(): ErrorBody {
    return { error: { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) } };
  }
}

export const notFound = (what = 'Resource') => new AppError('not_found', `${what} not found`);
export const unauthorized = (message = 'Authentication required') => new AppError('unauthorized', message);
export const conflict = (message: string) => new AppError('conflict', message);
export const validationFailed = (message: string, details?: Record<string, unknown>) =>
  new AppError('validation_failed', message, details);

/** What a client over a request limit is told, over HTTP (both limiters) and sockets alike. */
export const RATE_LIMITED_MESSAGE = 'Too many requests, slow down';

export function rateLimited(retryAfterSec: number, message = RATE_LIMITED_MESSAGE): AppError {
  const error = new AppError('rate_limited', message);
  error.retryAfterSec = Math.max(1, Math.ceil(retryAfterSec));
  return error;
}

export function overloaded(retryAfterSec: number, message = 'The server is busy, try again shortly'): AppError {
  const error = new AppError('overloaded', message);
  error.retryAfterSec = Math.max(1, Math.ceil(retryAfterSec));
  return error;
}
