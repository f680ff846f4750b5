// Reconnect stampede: 1,000 sockets on the PM2 cluster (2 instances), then `pm2 reload`. Each reloading worker
// closes its sockets; the clients reconnect to the other one. Measured twice in one run: clients with socket.io's
// default reconnection (about 1 s, +-50%), and parley/client's sockets, which honour `server:draining
// {reconnectInMs}`. Reports reconnects per 100 ms: the peak and the span that holds 90% of them.
//
//   npm run build && npx tsx test/bench/reconnect-spread.ts [--sockets 1000]
import { parseArgs } from 'node:util';
import { io, type Socket } from 'socket.io-client';
import { ParleyRealtime } from '../../src/client/index.js';
import { startCluster, sleep, type Cluster } from '../cluster/support/cluster.js';
import { register } from '../support/client.js';
import { createTestServices, dropTestServices } from '../support/services.js';

const { values } = parseArgs({ options: { sockets: { type: 'string', default: '1000' } } });
const SOCKETS = Number(values.sockets);
const BUCKET_MS = 100;

/** Opens `SOCKETS` sockets, reloads the cluster, and returns when each socket connected again (ms after the reload began). */
async function measure(cluster: Cluster, token: string, honour: boolean): Promise<number[]> {
  // Clients that honour server:draining are parley/client's (it waits exactly the delay the server drew);
  // the others are plain socket.io clients with its default reconnection.
  const sockets: Socket[] = [];
  const clients: ParleyRealtime[] = [];
  for (let i = 0; i < SOCKETS; i += 50) {
    const batch = Array.from({ length: Math.min(50, SOCKETS - i) }, async () => {
      if (honour) {
        const client = new ParleyRealtime({ url: cluster.url, token: () => token });
        clients.push(client);
        sockets.push(client.socket as unknown as Socket);
        await client.connect();
        return;
      }
      const socket = io(cluster.url, { transports: ['websocket'], auth: { token }, forceNew: true });
      sockets.push(socket);
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', reject);
      });
    });
    await Promise.all(batch);
  }
  const reconnects: number[] = [];
  let reloadAt = 0;
  for (const socket of sockets) socket.on('connect', () => reconnects.push(Date.now() - reloadAt));
  reloadAt = Date.now();
  await cluster.reload();
  for (let waited = 0; reconnects.length < SOCKETS && waited < 20_000; waited += 200) await sleep(200);
  for (const client of clients) client.close();
  for (const socket of sockets) socket.close();
  return reconnects.sort((a, b) => a - b);
}

function describe(label: string, reconnects: number[]): string {
  const buckets = new Map<number, number>();
  for (const ms of reconnects)
    buckets.set(Math.floor(ms / BUCKET_MS), (buckets.get(Math.floor(ms / BUCKET_MS)) ?? 0) + 1);
  const peak = Math.max(...buckets.values());
  const at = (q: number) => reconnects[Math.min(reconnects.length - 1, Math.floor(q * reconnects.length))] ?? NaN;
  return `| ${label} | ${reconnects.length} | ${peak} | ${(at(0.95) - at(0.05)).toFixed(0)} ms | ${at(0.05).toFixed(0)}-${at(0.95).toFixed(0)} ms |`;
}

async function main(): Promise<void> {
  await createTestServices();
  // Every socket comes from one address: the per-address cap on pending handshakes is lifted for the bench.
  const cluster = await startCluster({
    SOCKET_MAX_PER_USER: String(SOCKETS * 2),
    SOCKET_PENDING_PER_IP: String(SOCKETS),
    LOG_LEVEL: 'warn',
  });
  try {
    const account = await register(cluster.url);
    const plain = await measure(cluster, account.accessToken, false);
    const honouring = await measure(cluster, account.accessToken, true);
    console.log(
      `\nnpx tsx test/bench/reconnect-spread.ts --sockets ${SOCKETS}  (${new Date().toISOString()}; machine shared)`,
    );
    console.log(
      '\n| clients | reconnected | peak per 100 ms | span of the middle 90% | when (after the reload began) |',
    );
    console.log('| --- | --- | --- | --- | --- |');
    console.log(describe("socket.io's default reconnection", plain));
    console.log(describe('parley/client (honours server:draining)', honouring));
  } finally {
    await cluster.stop();
    await dropTestServices();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
