// Access tokens (JWT, HS256 pinned, short-lived) and opaque refresh tokens (random, stored only as a hash).
import { createHash, createSecretKey, randomBytes, type KeyObject } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';
import { LRUCache } from 'lru-cache';
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
  /**
   * Tokens already verified, until they expire. A client sends the same token with every request for its whole
   * life, and HMAC verification through WebCrypto was a fifth of the CPU of an authenticated read (bench:
   * test/bench/http.ts); a token's claims never change, so remembering the answer is exact.
   */
  private readonly verified: LRUCache<string, AccessClaims> | undefined;

  constructor(
    secret: string,
    private readonly accessTtlSec: number,
    cacheSize = 0,
  ) {
    this.key = createSecretKey(Buffer.from(secret, 'utf8'));
    if (cacheSize > 0) this.verified = new LRUCache({ max: cacheSize });
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
    const known = this.verified?.get(token);
    if (known && known.expiresAt * 1000 > Date.now()) return known;
    const claims = await this.verifyOnce(token);
    this.verified?.set(token, claims, { ttl: claims.expiresAt * 1000 - Date.now() });
    return claims;
  }

  private async verifyOnce(token: string): Promise<AccessClaims> {
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
