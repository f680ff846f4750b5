// The handshake middleware: who the caller is (handshake.ts), whether that sign-in was revoked, the rooms the
// socket will join, and the per-user socket cap. The connection handler then takes what was admitted.
import type { ExtendedError } from 'socket.io';
import { AppError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { publicError } from '../services/failures.js';
import type { ParleySocket } from './events.js';
import type { Identity } from './handshake.js';
import type { Admission, PresenceTracker } from '../services/presence-tracker.js';

export interface AdmissionDeps {
  identify(socket: ParleySocket): Promise<Identity | undefined>;
  isRevoked(familyId: string | undefined): boolean;
  /** The user's most recently active conversations, at most `limit`. */
  recentConversationIdsOf(userId: string, limit: number): Promise<string[]>;
  tracker: PresenceTracker;
  maxSocketsPerUser: number;
  handshakeConversations: number;
  log: Logger;
}

export interface Admitted {
  /** The user's first socket anywhere: announce online. */
  first: boolean;
  conversationIds: string[];
}

/**
 * socket.io's `connect_error`: `reason` is the error's message a client sees, `data` the contract's code and message.
 */
export function handshakeError(reason: string, error: AppError): ExtendedError {
  return Object.assign(new Error(reason), { data: { code: error.code, message: error.message } });
}

export function socketAdmission(deps: AdmissionDeps) {
  /** Sockets counted by presence whose connection has not opened yet: if it closes first, the count goes back. */
  const admitted = new WeakMap<ParleySocket, { admission: Admission; conversationIds: string[] }>();

  const middleware = (socket: ParleySocket, next: (error?: ExtendedError) => void): void => {
    admit(socket).then(
      (refusal) => next(refusal),
      (error: unknown) => {
        // A database or Redis that cannot be reached is `overloaded` (retry shortly), as over HTTP.
        const answer = publicError(error);
        if (answer.unexpected) deps.log.error({ err: error }, 'socket handshake failed');
        next(handshakeError(answer.error.code, answer.error));
      },
    );
  };

  async function admit(socket: ParleySocket): Promise<ExtendedError | undefined> {
    const identity = await deps.identify(socket);
    if (!identity || deps.isRevoked(identity.familyId))
      return handshakeError(
        'unauthorized',
        new AppError('unauthorized', 'A valid access token or session cookie is required'),
      );
    // Loaded before the handshake completes and joined in the connection handler, synchronously: by the time the
    // client sees "connect" its socket is in these rooms, so nothing broadcast after that can miss it. Bounded:
    // the most recently active conversations only; `sync` joins the others a client names.
    const conversationIds = await deps.recentConversationIdsOf(identity.userId, deps.handshakeConversations);
    // Checked and counted in one step, so concurrent handshakes on every process and host share the cap.
    const admission = await deps.tracker.admit(identity.userId, deps.maxSocketsPerUser);
    if (admission === 'refused')
      return handshakeError(
        'too_many_sockets',
        new AppError('rate_limited', `At most ${deps.maxSocketsPerUser} sockets per user`),
      );
    const giveBack = () =>
      void deps.tracker.disconnected(identity.userId, new Date().toISOString()).catch(() => undefined);
    // The client may have gone while we checked: socket.io then drops the socket without any event.
    if (socket.conn.readyState !== 'open') {
      giveBack();
      return undefined;
    }
    admitted.set(socket, { admission, conversationIds });
    socket.conn.once('close', () => {
      if (admitted.delete(socket)) giveBack();
    });
    socket.data.userId = identity.userId;
    socket.data.expiresAt = identity.expiresAt;
    socket.data.familyId = identity.familyId;
    return undefined;
  }

  /** What the handshake admitted, handed over once to the connection handler. */
  const take = (socket: ParleySocket): Admitted => {
    const entry = admitted.get(socket);
    admitted.delete(socket);
    return { first: entry?.admission === 'first', conversationIds: entry?.conversationIds ?? [] };
  };

  return { middleware, take };
}
