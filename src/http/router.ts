// One way to make a router. @koa/router matches paths in any letter case unless told otherwise, while every
// other part of the service (guards, limits, nginx locations, metrics labels) reads paths as written: a router
// that answered `/API/users` was an open door past authentication. Every route is case-sensitive, so a path
// reaches a handler only in its canonical spelling, and the guards run inside the routers (http/app.ts), so a
// path that reaches a handler has passed them by construction.
import Router from '@koa/router';
import type { ParleyState } from './context.js';

export type ParleyRouter = Router<ParleyState>;

export const newRouter = (prefix?: string): ParleyRouter =>
  new Router<ParleyState>({ ...(prefix ? { prefix } : {}), sensitive: true });
