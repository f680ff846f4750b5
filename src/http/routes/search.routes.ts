// GET /api/search/messages: full-text search over the caller's conversations.
import { parseInput } from '../../core/validate.js';
import type { SearchService } from '../../services/search.service.js';
import { currentUserId } from '../middleware/authenticate.js';
import { newRouter, type ParleyRouter } from '../router.js';
import { searchQuerySchema } from '../schemas.js';

export function searchRoutes(deps: {
  search: SearchService;
  config: { chat: { searchQueryMaxChars: number; searchPageMax: number } };
}): ParleyRouter {
  const { chat } = deps.config;
  const querySchema = searchQuerySchema({ maxChars: chat.searchQueryMaxChars, maxLimit: chat.searchPageMax });
  const router = newRouter('/search');
  router.get('/messages', async (ctx) => {
    const query = parseInput(querySchema, ctx.query, 'Query');
    ctx.body = await deps.search.search(currentUserId(ctx.state), query);
  });
  return router;
}
