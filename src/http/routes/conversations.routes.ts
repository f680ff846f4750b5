// Conversations, membership, messages and read cursors under /api/conversations.
import { notFound } from '../../core/errors.js';
import { parseInput } from '../../core/validate.js';
import type { ConversationsService } from '../../services/conversations.service.js';
import type { MessageChanges } from '../../services/message-changes.js';
import type { MessagesService } from '../../services/messages.service.js';
import { currentUserId } from '../middleware/authenticate.js';
import { newRouter, type ParleyRouter } from '../router.js';
import {
  addMemberSchema,
  conversationListQuerySchema,
  createConversationSchema,
  editMessageSchema,
  historyQuerySchema,
  isValidId,
  isValidSeq,
  memberRoleSchema,
  readSchema,
  sendMessageSchema,
} from '../schemas.js';

/** A path id that cannot be a row id names nothing: 404, like anything else the caller cannot see. */
export const requireId = (what: string) => (value: string, _ctx: unknown, next: () => Promise<unknown>) => {
  if (!isValidId(value)) throw notFound(what);
  return next();
};

export function conversationRoutes(deps: {
  conversations: ConversationsService;
  messages: MessagesService;
  messageChanges: MessageChanges;
  config: { chat: { conversationsPageMax: number } };
}): ParleyRouter {
  const { conversations, messages, messageChanges } = deps;
  const listQuerySchema = conversationListQuerySchema(deps.config.chat.conversationsPageMax);
  const router = newRouter('/conversations');
  router.param('id', requireId('Conversation'));
  router.param('userId', requireId('Member'));
  router.param('seq', (value, _ctx, next) => {
    if (!isValidSeq(value)) throw notFound('Message');
    return next();
  });

  router.post('/', async (ctx) => {
    const userId = currentUserId(ctx.state);
    const input = parseInput(createConversationSchema, ctx.request.body);
    if (input.kind === 'direct') {
      const { conversation, created } = await conversations.openDirect(userId, input.userId);
      ctx.status = created ? 201 : 200;
      ctx.body = { conversation };
    } else {
      ctx.status = 201;
      ctx.body = { conversation: await conversations.createGroup(userId, input.title, input.memberIds) };
    }
  });

  router.get('/', async (ctx) => {
    const page = parseInput(listQuerySchema, ctx.query, 'Query');
    ctx.body = await conversations.list(currentUserId(ctx.state), page);
  });

  router.get('/:id', async (ctx) => {
    ctx.body = { conversation: await conversations.get(currentUserId(ctx.state), ctx.params.id!) };
  });

  router.post('/:id/members', async (ctx) => {
    const { userId } = parseInput(addMemberSchema, ctx.request.body);
    ctx.status = 201;
    ctx.body = { conversation: await conversations.addMember(currentUserId(ctx.state), ctx.params.id!, userId) };
  });

  router.patch('/:id/members/:userId', async (ctx) => {
    const { role } = parseInput(memberRoleSchema, ctx.request.body);
    ctx.body = {
      conversation: await conversations.setRole(currentUserId(ctx.state), ctx.params.id!, ctx.params.userId!, role),
    };
  });

  router.delete('/:id/members/:userId', async (ctx) => {
    await conversations.removeMember(currentUserId(ctx.state), ctx.params.id!, ctx.params.userId!);
    ctx.status = 204;
  });

  router.get('/:id/messages', async (ctx) => {
    const page = parseInput(historyQuerySchema, ctx.query, 'Query');
    // The page arrives as JSON text from PostgreSQL and is sent as it is.
    const json = await messages.historyJson(currentUserId(ctx.state), ctx.params.id!, page);
    ctx.type = 'application/json';
    ctx.body = `{"messages":${json}}`;
  });

  router.post('/:id/messages', async (ctx) => {
    const input = parseInput(sendMessageSchema, ctx.request.body);
    const { message, created } = await messages.send({
      ...input,
      senderId: currentUserId(ctx.state),
      conversationId: ctx.params.id!,
    });
    ctx.status = created ? 201 : 200;
    ctx.body = { message };
  });

  router.patch('/:id/messages/:seq', async (ctx) => {
    const { body } = parseInput(editMessageSchema, ctx.request.body);
    ctx.body = {
      message: await messageChanges.edit(currentUserId(ctx.state), ctx.params.id!, Number(ctx.params.seq), body),
    };
  });

  router.delete('/:id/messages/:seq', async (ctx) => {
    await messageChanges.delete(currentUserId(ctx.state), ctx.params.id!, Number(ctx.params.seq));
    ctx.status = 204;
  });

  router.post('/:id/read', async (ctx) => {
    const { seq } = parseInput(readSchema, ctx.request.body);
    await messages.markRead(currentUserId(ctx.state), ctx.params.id!, seq);
    ctx.status = 204;
  });

  return router;
}
