// Users and sign-in answers (docs/API.md, HTTP).

export interface User {
  id: string;
  username: string;
  displayName: string;
  createdAt: string;
}

/** POST /api/auth/refresh answers a new pair; the old refresh token is spent. */
export interface Tokens {
  accessToken: string;
  refreshToken: string;
}

/** What register and login answer (and the session cookie beside it). */
export interface SignedIn extends Tokens {
  user: User;
  /** Set when the sign-in went on without a cookie session because Redis could not be reached. */
  session?: 'unavailable';
}
