// Plain requests on a fresh connection each (agent: false), so PM2's round-robin spreads them over the workers
// and a killed worker only fails the requests that were on it.
import http from 'node:http';

export function requestFresh(
  url: string,
  method: string,
  body?: unknown,
  token?: string,
): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      url,
      {
        method,
        agent: false,
        headers: {
          ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          const json = (res.headers['content-type'] ?? '').includes('json');
          resolve({ status: res.statusCode ?? 0, body: text && json ? JSON.parse(text) : text || undefined });
        });
        res.on('error', reject);
      },
    );
    // A connection the cluster primary handed to a worker that was just killed can stay silent: give up like a
    // client would, so such a request counts as failed rather than hanging the test.
    req.setTimeout(10_000, () => req.destroy(new Error('no response within 10 s')));
    req.on('error', reject);
    req.end(payload);
  });
}
