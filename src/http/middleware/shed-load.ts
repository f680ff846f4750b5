// Turns requests away at the door while the resource they need is saturated: a 503 with Retry-After costs almost
// nothing here, where the same 503 from deep inside the route would come after body parsing, the session, the rate
// limiter and database queries, all spent on a request that cannot be served.
import type { Middleware } from 'koa';
import type { AppError } from '../../core/errors.js';
import type { ParleyState } from '../context.js';

/** `admission` returns the error to answer with while saturated, undefined otherwise. */
export function shedLoad(admission: () => AppError | undefined): Middleware<ParleyState> {
  return (ctx, next) => {
    const refusal = admission();
    if (refusal) throw refusal;
    return next();
  };
}
