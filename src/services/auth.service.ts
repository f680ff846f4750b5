// Accounts: register, login, refresh-token rotation with reuse detection, logout.
import type { User } from '../contract/users.js';
import type { Database } from '../db/database.js';
import { isUniqueViolation } from '../db/database.js';
import { findCredentials, findUserById, insertUser } from '../db/users.repository.js';
import * as refreshTokens from '../db/refresh-tokens.repository.js';
import { conflict, unauthorized } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { silentBroadcaster, type Broadcaster } from './broadcaster.js';
import type { PasswordHasher } from './password-hasher.js';
import type { Revocations } from './revocations.js';
import { hashRefreshToken, newRefreshToken, type TokenService } from './tokens.js';

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  familyId: string;
}

export interface Authenticated extends TokenPair {
  user: User;
}

const BAD_CREDENTIALS = 'Invalid username or password';
const BAD_REFRESH = 'Invalid refresh token';

export class AuthService {
  // Verified against when the username is unknown, so both failures take the same time.
  private decoyHash: Promise<string> | undefined;

  constructor(
    private readonly db: Database,
    private readonly hasher: PasswordHasher,
    private readonly tokens: TokenService,
    private readonly revocations: Revocations,
    private readonly refreshTtlMs: number,
    private readonly log: Logger,
    private readonly broadcaster: Broadcaster = silentBroadcaster,
  ) {}

  async register(input: { username: string; password: string; displayName?: string }): Promise<Authenticated> {
    const passwordHash = await this.hasher.hash(input.password);
    let issued: { user: User; familyId: string; refreshToken: string };
    try {
      issued = await this.db.withTransaction(async (tx) => {
        const user = await insertUser(tx, {
          username: input.username,
          displayName: input.displayName ?? input.username,
          passwordHash,
        });
        const familyId = await refreshTokens.createFamily(tx, user.id);
        return { user, familyId, refreshToken: await this.storeRefreshToken(tx, familyId) };
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw conflict('That username is taken');
      throw error;
    }
    return { user: issued.user, ...(await this.pair(issued.user.id, issued.familyId, issued.refreshToken)) };
  }

  async login(input: { username: string; password: string }): Promise<Authenticated> {
    const found = await findCredentials(this.db.primary, input.username);
    if (!found) {
      // A hash that failed (the worker pool was full) is not kept, or every later unknown-user login would fail.
      this.decoyHash ??= this.hasher.hash('decoy password for unknown users').catch((error: unknown) => {
        this.decoyHash = undefined;
        throw error;
      });
      await this.hasher.verify(input.password, await this.decoyHash);
      throw unauthorized(BAD_CREDENTIALS);
    }
    if (!(await this.hasher.verify(input.password, found.passwordHash))) throw unauthorized(BAD_CREDENTIALS);
    const issued = await this.db.withTransaction(async (tx) => {
      const familyId = await refreshTokens.createFamily(tx, found.user.id);
      return { familyId, refreshToken: await this.storeRefreshToken(tx, familyId) };
    });
    return { user: found.user, ...(await this.pair(found.user.id, issued.familyId, issued.refreshToken)) };
  }

  /** Rotates a refresh token. A spent token presented again is theft or a replay: the whole family dies. */
  async refresh(refreshToken: string): Promise<TokenPair> {
    const outcome = await this.db.withTransaction(async (tx) => {
      const stored = await refreshTokens.findTokenForUpdate(tx, hashRefreshToken(refreshToken));
      if (!stored || stored.familyRevokedAt || stored.expiresAt.getTime() <= Date.now()) return 'invalid' as const;
      if (stored.spentAt) {
        await refreshTokens.revokeFamily(tx, stored.familyId);
        return { reused: true as const, familyId: stored.familyId };
      }
      await refreshTokens.markSpent(tx, stored.id);
      return {
        reused: false as const,
        userId: stored.userId,
        familyId: stored.familyId,
        refreshToken: await this.storeRefreshToken(tx, stored.familyId),
      };
    });
    if (outcome === 'invalid') throw unauthorized(BAD_REFRESH);
    if (outcome.reused) {
      this.log.warn({ familyId: outcome.familyId }, 'spent refresh token reused; family revoked');
      this.signedOut(outcome.familyId);
      throw unauthorized(BAD_REFRESH);
    }
    return this.pair(outcome.userId, outcome.familyId, outcome.refreshToken);
  }

  async logout(familyId: string | undefined): Promise<void> {
    if (!familyId) return;
    await refreshTokens.revokeFamily(this.db.primary, familyId);
    this.signedOut(familyId);
  }

  /** After the revocation committed: refused here at once, on other processes within a poll; live sockets closed. */
  private signedOut(familyId: string): void {
    this.revocations.add(familyId);
    this.broadcaster.signedOut(familyId);
  }

  async me(userId: string): Promise<User> {
    const user = await findUserById(this.db.primary, userId);
    if (!user) throw unauthorized('Account no longer exists');
    return user;
  }

  private async storeRefreshToken(
    tx: Parameters<typeof refreshTokens.insertToken>[0],
    familyId: string,
  ): Promise<string> {
    const refreshToken = newRefreshToken();
    await refreshTokens.insertToken(
      tx,
      familyId,
      hashRefreshToken(refreshToken),
      new Date(Date.now() + this.refreshTtlMs),
    );
    return refreshToken;
  }

  /**
   * Signs the access token after the transaction committed: signing may wait behind other work on libuv's thread
   * pool, and a transaction must not hold its database connection meanwhile.
   */
  private async pair(userId: string, familyId: string, refreshToken: string): Promise<TokenPair> {
    return { accessToken: await this.tokens.signAccess(userId, familyId), refreshToken, familyId };
  }
}
