// GET /health/live, answered by node:http before Koa sees the request. Probes come every few seconds from PM2
// tooling and load balancers, and a liveness answer needs nothing Koa builds (context, cookies, middleware): on
// this path Koa alone costs about half of a bare server's throughput (bench: test/bench/http.ts). The server
// runs this, then Koa (the request listener app.ts sets), so the health router has no /live route of its own.
import type http from 'node:http';

const BODY = '{"status":"ok"}';

export function answerLivenessFirst(next: http.RequestListener, isDraining: () => boolean): http.RequestListener {
  return (req, res) => {
    if (!isLivenessProbe(req)) {
      next(req, res);
      return;
    }
    res.writeHead(200, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': BODY.length,
      // While draining, keep-alive clients are asked to reconnect elsewhere, as on every other response.
      ...(isDraining() ? { connection: 'close' } : {}),
    });
    res.end(req.method === 'HEAD' ? undefined : BODY);
  };
}

function isLivenessProbe(req: http.IncomingMessage): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const url = req.url ?? '';
  return url === '/health/live' || url.startsWith('/health/live?');
}
