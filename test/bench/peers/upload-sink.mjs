// The benchmark's baseline for attachments: a bare node:http server that writes each upload's request body to a
// file on disk as it arrives (no parsing, no hashing, no database), serves files back by name, and answers
// /health/live, so its throughput is what this machine's disk and loopback allow one Node process.
//   node test/bench/peers/upload-sink.mjs <port> <dir>
import { createReadStream, createWriteStream } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { randomUUID } from 'node:crypto';

const [port, dir] = [Number(process.argv[2]), process.argv[3]];
const server = http.createServer(async (req, res) => {
  if (req.url === '/health/live') return res.end('{"status":"ok"}');
  if (req.method === 'POST') {
    const id = randomUUID();
    try {
      await pipeline(req, createWriteStream(path.join(dir, id)));
      res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ attachment: { id } }));
    } catch {
      res.writeHead(500).end();
    }
    return;
  }
  const name = path.basename(req.url ?? '');
  const file = createReadStream(path.join(dir, name));
  file.on('error', () => res.writeHead(404).end());
  file.on('open', () => res.writeHead(200, { 'content-type': 'application/octet-stream' }));
  file.pipe(res);
});
server.listen(port, '127.0.0.1', () => process.send?.('ready'));
process.on('SIGINT', () => server.close(() => process.exit(0)));
