// One connected socket: its event limits, its rooms, its handlers, its presence and the expiry of its credential.
import type { ParleySocket } from './events.js';
import { conversationRoom, familyRoom, userRoom } from './events.js';
import { limitEvents, registerHandlers, type HandlerDeps } from './handlers.js';
import type { Admitted } from './admission.js';
import type { PresenceAnnouncer } from './presence-announcer.js';
import { tokenBucket } from './rate-limit.js';

// setTimeout takes at most 2^31-1 ms; longer expiries are re-armed.
const MAX_TIMER_MS = 2_147_483_647;

export interface ConnectionDeps extends HandlerDeps {
  presence: PresenceAnnouncer;
  /** The per-socket event budget (SOCKET_EVENTS_PER_SEC, SOCKET_EVENTS_BURST). */
  eventsPerSec: number;
  eventsBurst: number;
}

export function serveConnection(socket: ParleySocket, admitted: Admitted, deps: ConnectionDeps): void {
  const { userId } = socket.data;
  deps.log.debug({ userId, socketId: socket.id }, 'socket connected');
  limitEvents(socket, tokenBucket(deps.eventsPerSec, deps.eventsBurst), deps.metrics);
  joinRooms(socket, admitted.conversationIds);
  registerHandlers(socket, deps);
  const counted = deps.presence.connected(userId, admitted.first);
  const expiry = expireAt(socket, socket.data.expiresAt);
  socket.on('disconnect', () => {
    clearTimeout(expiry.timer);
    deps.presence.disconnected(userId, counted);
  });
}

/** Joins the user's room, the sign-in's room and one room per conversation, all from this handshake's checks. */
function joinRooms(socket: ParleySocket, conversationIds: string[]): void {
  const rooms = [userRoom(socket.data.userId), ...conversationIds.map(conversationRoom)];
  if (socket.data.familyId) rooms.push(familyRoom(socket.data.familyId));
  void socket.join(rooms);
}

/** Disconnects the socket when its credential expires. */
function expireAt(socket: ParleySocket, expiresAtSec: number): { timer?: NodeJS.Timeout } {
  const handle: { timer?: NodeJS.Timeout } = {};
  const arm = () => {
    const left = expiresAtSec * 1000 - Date.now();
    if (left <= 0) {
      socket.disconnect(true);
      return;
    }
    handle.timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
  };
  arm();
  return handle;
}
