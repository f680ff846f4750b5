// What the middleware chain puts on ctx.state, typed once.
import type { Logger } from '../core/logger.js';

export interface ParleyState {
  requestId: string;
  log: Logger;
  /** Set by the authenticate middleware. */
  userId?: string;
  /** The refresh family of the credential used: the JWT's or the session's. */
  familyId?: string;
  /** Set on a sign-in that went on without a cookie session because Redis could not be reached. */
  sessionUnavailable?: boolean;
}
