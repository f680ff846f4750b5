// MAX_CONNECTIONS: the sockets one process accepts (the capacity plan's per-process cap, capacity/plan.ts). Over it
// a handshake fails at once, before any credential check or database read, with the contract's `overloaded`
// code: the client retries with backoff, and nginx or PM2 may place it on another instance. The alert rules fire
// at 80% of the same number.
import type { ExtendedError, Socket } from 'socket.io';
import { AppError } from '../core/errors.js';
import { handshakeError } from './admission.js';

export function refuseOverCap(maxConnections: number, connected: () => number) {
  return (_socket: Socket, next: (error?: ExtendedError) => void): void => {
    if (connected() < maxConnections) return next();
    next(
      handshakeError(
        'overloaded',
        new AppError('overloaded', `This server holds its limit of ${maxConnections} sockets`),
      ),
    );
  };
}
