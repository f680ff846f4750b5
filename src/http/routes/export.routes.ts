// GET /api/conversations/:id/export: the caller's conversation as gzip'd NDJSON, streamed (members only; 404
// otherwise, like every other conversation route).
import type { ConversationExportService } from '../../services/export.service.js';
import { currentUserId } from '../middleware/authenticate.js';
import { newRouter, type ParleyRouter } from '../router.js';
import { requireId } from './conversations.routes.js';

export function exportRoutes(conversationExports: ConversationExportService): ParleyRouter {
  const router = newRouter('/conversations');
  router.param('id', requireId('Conversation'));

  router.get('/:id/export', async (ctx) => {
    const conversationId = ctx.params.id!;
    const stream = await conversationExports.open(currentUserId(ctx.state), conversationId);
    ctx.set('Content-Disposition', `attachment; filename="conversation-${conversationId}.ndjson.gz"`);
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'application/gzip';
    ctx.body = stream;
  });

  return router;
}
