// Exports as jobs: POST /api/conversations/:id/exports -> 202 {job}; GET /api/jobs/:id -> {job}; GET
// /api/jobs/:id/file -> the finished file. The caller's own jobs only; 404 otherwise, like conversations.
import { createReadStream } from 'node:fs';
import type { JobsService } from '../../services/jobs.service.js';
import { currentUserId } from '../middleware/authenticate.js';
import { newRouter, type ParleyRouter } from '../router.js';
import { requireId } from './conversations.routes.js';

export function jobRoutes(jobs: JobsService): ParleyRouter {
  const router = newRouter();
  router.param('id', requireId('Resource'));

  router.post('/conversations/:id/exports', async (ctx) => {
    ctx.status = 202;
    ctx.body = { job: await jobs.startExport(currentUserId(ctx.state), ctx.params.id!) };
  });

  router.get('/jobs/:id', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { job: await jobs.get(currentUserId(ctx.state), ctx.params.id!) };
  });

  router.get('/jobs/:id/file', async (ctx) => {
    const file = await jobs.exportFile(currentUserId(ctx.state), ctx.params.id!);
    ctx.set('Content-Disposition', `attachment; filename="conversation-${file.conversationId}.ndjson.gz"`);
    ctx.set('Cache-Control', 'no-store');
    ctx.type = 'application/gzip';
    ctx.length = file.size;
    ctx.body = createReadStream(file.path);
  });

  return router;
}
