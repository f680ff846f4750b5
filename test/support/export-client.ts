// Reads a conversation export the way a client would: streamed, gunzipped and split into lines on the fly, so
// the test holds one line at a time however large the export is.
import http from 'node:http';
import { createGunzip } from 'node:zlib';

export interface ExportRead {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** How many NDJSON lines arrived (each also went to `onLine`, in order). */
  lines: number;
}

export function streamExport(
  baseUrl: string,
  conversationId: string,
  token: string,
  onLine: (line: string) => void,
): Promise<ExportRead> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      `${baseUrl}/api/conversations/${conversationId}/export`,
      { headers: { authorization: `Bearer ${token}` } },
      (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, lines: 0 }));
          return;
        }
        let lines = 0;
        let partial = '';
        const gunzip = createGunzip();
        gunzip.setEncoding('utf8');
        gunzip.on('data', (chunk: string) => {
          const parts = (partial + chunk).split('\n');
          partial = parts.pop()!;
          for (const line of parts) {
            lines++;
            onLine(line);
          }
        });
        gunzip.on('end', () => {
          if (partial !== '') reject(new Error(`export ended mid-line: ${partial.slice(0, 80)}`));
          else resolve({ status: 200, headers: res.headers, lines });
        });
        gunzip.on('error', reject);
        res.on('error', reject);
        res.pipe(gunzip);
      },
    );
    req.on('error', reject);
  });
}
