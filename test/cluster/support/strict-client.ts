// A strict keep-alive client: a fixed number of persistent connections sending requests back to back and never
// retrying. Any reset, hang-up or non-2xx during a reload is counted as a failure, as a real client would see it.
import http from 'node:http';

export interface StrictResult {
  ok: number;
  non2xx: number;
  errors: string[];
}

export function strictKeepAliveLoad(url: string, options: { connections: number; headers?: Record<string, string> }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections });
  const result: StrictResult = { ok: 0, non2xx: 0, errors: [] };
  let running = true;

  const once = () =>
    new Promise<void>((resolve) => {
      const req = http.get(url, { agent, headers: options.headers }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode && res.statusCode >= 200 && res.statusCode < 300) result.ok += 1;
          else result.non2xx += 1;
          resolve();
        });
        res.on('error', (error) => {
          result.errors.push(error.message);
          resolve();
        });
      });
      req.on('error', (error) => {
        result.errors.push(`${(error as NodeJS.ErrnoException).code ?? ''} ${error.message}`);
        resolve();
      });
    });

  const loops = Array.from({ length: options.connections }, async () => {
    while (running) await once();
  });

  return {
    result,
    async stop(): Promise<StrictResult> {
      running = false;
      await Promise.all(loops);
      agent.destroy();
      return result;
    },
  };
}
