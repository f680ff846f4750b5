// GET /openapi.json: the OpenAPI 3.1 description of this API (http/openapi.ts). No auth, like health.
import { openApiDocument } from '../openapi.js';
import { newRouter, type ParleyRouter } from '../router.js';

export function openApiRoutes(version: string, sessionCookie: string): ParleyRouter {
  const router = newRouter();
  router.get('/openapi.json', (ctx) => {
    ctx.set('Cache-Control', 'no-cache');
    ctx.body = openApiDocument(version, sessionCookie);
  });
  return router;
}
