// What each client event does: validate, call a service, answer through the ack. Handlers stay thin; the rules
// live in the services. Every failure becomes the contract's error shape in the ack and never escapes: the
// socket stays connected and the process keeps running, whether or not the client asked for an ack.
import type { ErrorBody } from '../contract/errors.js';
import { notFound, rateLimited } from '../core/errors.js';
import { publicError } from '../services/failures.js';
import type { Logger } from '../core/logger.js';
import { parseInput } from '../core/validate.js';
import type { CatchUp } from '../services/catch-up.js';
import type { MessageChanges } from '../services/message-changes.js';
import type { MessagesService } from '../services/messages.service.js';
import { conversationRoom, userRoom, type ClientToServer, type ParleySocket } from './events.js';
import type { RealtimeMetrics } from './metrics.js';
import { tokenBucket, type EventBudget } from './rate-limit.js';
import {
  socketDeleteSchema,
  socketEditSchema,
  socketReadSchema,
  socketSendSchema,
  syncSchema,
  typingSchema,
} from './schemas.js';

export interface HandlerDeps {
  messages: MessagesService;
  messageChanges: MessageChanges;
  catchUp: CatchUp;
  metrics: RealtimeMetrics;
  log: Logger;
  /** The per-socket sync budget (SYNC_PER_SEC, SYNC_BURST). */
  syncPerSec: number;
  syncBurst: number;
}

type Reply = (body: object) => void;
type Handle = (payload: unknown) => Promise<object>;

/** Splits socket.io's arguments into the payload and the ack, whichever of them the client left out. */
function argsOf(args: unknown[]): { payload: unknown; reply?: Reply } {
  const last = args[args.length - 1];
  const reply = typeof last === 'function' ? (last as Reply) : undefined;
  return { payload: reply && args.length === 1 ? undefined : args[0], reply };
}

function errorBody(error: unknown, log: Logger, event: string): ErrorBody {
  const answer = publicError(error);
  if (answer.unexpected) log.error({ err: error, event }, 'socket handler failed');
  return answer.error.toBody();
}

/**
 * Rate limit on every incoming packet, known event or not. Over budget: answered `rate_limited` when the client
 * gave an ack, dropped either way.
 */
export function limitEvents(socket: ParleySocket, budget: EventBudget, metrics: RealtimeMetrics): void {
  socket.use((packet, next) => {
    if (budget.take()) return next();
    const event = String(packet[0]);
    metrics.eventIn(event, 'rate_limited');
    argsOf(packet.slice(1)).reply?.({ ok: false, ...rateLimited(1, 'Too many events, slow down').toBody() });
  });
}

/** Registers the client events. */
export function registerHandlers(socket: ParleySocket, deps: HandlerDeps): void {
  const { messages, messageChanges, catchUp, metrics, log } = deps;
  const userId = socket.data.userId;

  const on = (event: keyof ClientToServer, handle: Handle) => {
    socket.on(event, (...args: unknown[]) => {
      const { payload, reply } = argsOf(args);
      Promise.resolve(payload)
        .then(handle)
        .then(
          (result) => {
            metrics.eventIn(event, 'ok');
            reply?.({ ok: true, ...result });
          },
          (error: unknown) => {
            metrics.eventIn(event, 'error');
            reply?.({ ok: false, ...errorBody(error, log, event) });
          },
        );
    });
  };

  on('message:send', async (payload) => {
    const started = performance.now();
    const input = parseInput(socketSendSchema, payload, 'message:send');
    const { message } = await messages.send({ ...input, senderId: userId });
    metrics.sendLatency.observe((performance.now() - started) / 1000);
    return { message };
  });

  on('message:edit', async (payload) => {
    const { conversationId, seq, body } = parseInput(socketEditSchema, payload, 'message:edit');
    return { message: await messageChanges.edit(userId, conversationId, seq, body) };
  });

  on('message:delete', async (payload) => {
    const { conversationId, seq } = parseInput(socketDeleteSchema, payload, 'message:delete');
    await messageChanges.delete(userId, conversationId, seq);
    return {};
  });

  // The socket joins the rooms of the conversations it names before anything is read, so whatever is sent after
  // the read reaches it live: the handshake joined only the most recently active ones (SOCKET_HANDSHAKE_CONVERSATIONS).
  const syncs = tokenBucket(deps.syncPerSec, deps.syncBurst);
  on('sync', async (payload) => {
    // Each answer can be up to SYNC_MAX_BYTES: a socket gets a few a second, not as many as its event budget.
    if (!syncs.take()) throw rateLimited(1, 'Too many syncs, slow down');
    const request = parseInput(syncSchema, payload, 'sync');
    const named = Object.keys(request.cursors);
    await catchUp.checkMember(userId, named);
    await socket.join(named.map(conversationRoom));
    return catchUp.sync(userId, request);
  });

  // Membership is the socket's rooms, kept in step with the database by conversation:new/removed: no query per
  // keystroke.
  on('typing', async (payload) => {
    const { conversationId, isTyping } = parseInput(typingSchema, payload, 'typing');
    const room = conversationRoom(conversationId);
    if (!socket.rooms.has(room)) throw notFound('Conversation');
    socket.to(room).except(userRoom(userId)).emit('typing', { conversationId, userId, isTyping });
    metrics.eventOut('typing');
    return {};
  });

  on('read', async (payload) => {
    const { conversationId, seq } = parseInput(socketReadSchema, payload, 'read');
    return { seq: await messages.markRead(userId, conversationId, seq) };
  });
}
