// Access tokens (JWT, HS256 pinned, short-lived) and opaque refresh tokens (random, stored only as a hash).
import { createHash, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';
import { unauthorized } from '../core/errors.js';

const ALGORITHM = 'HS256';
const ISSUER = 'parley';

export interface AccessClaims {
  userId: string;
  familyId: string;
  /** Expiry, seconds since the epoch. */
  expiresAt: number;
}

export class TokenService {
  // A KeyObject made once: given raw bytes, jose imports the key again on every sign and verify.
  private readonly key: KeyObject;

  constructor(
    secret: string,
    private readonly accessTtlSec: number,
  ) {
    this.key = createSecretKey(Buffer.from(secret, 'utf8'));
  }

  signAccess(userId: string, familyId: string): Promise<string> {
    return new SignJWT({ fid: familyId })
      .setProtectedHeader({ alg: ALGORITHM })
      .setSubject(userId)
      .setIssuer(ISSUER)
      .setIssuedAt()
      .setExpirationTime(`${this.accessTtlSec}s`)
      .sign(this.key);
  }

  async verifyAccess(token: string): Promise<AccessClaims> {
    try {
      const { payload } = await jwtVerify(token, this.key, { algorithms: [ALGORITHM], issuer: ISSUER });
      if (typeof payload.sub !== 'string' || typeof payload.fid !== 'string' || typeof payload.exp !== 'number') {
        throw new Error('missing claims');
      }
      return { userId: payload.sub, familyId: payload.fid, expiresAt: payload.exp };
    } catch {
      throw unauthorized('Invalid or expired access token');
    }
  }
}

export const newRefreshToken = (): string => randomBytes(32).toString('base64url');
export const hashRefreshToken = (token: string): Buffer => createHash('sha256').update(token).digest();
