// One load-generator process of test/bench/realtime.ts, forked by it (`--load-procs` of them). It holds whole
// groups (a message's sender and receivers share this process's clock), connects their sockets, sends on steady
// timers and reports counts, latencies and its own CPU time for the window the orchestrator marks.
import { io, type Socket } from 'socket.io-client';

export interface LoadClient {
  url: string;
  auth: Record<string, string>;
  conversationId: string;
}

export type ToLoad =
  | { type: 'connect'; clients: LoadClient[] }
  | { type: 'send'; rate: number }
  | { type: 'measure'; on: boolean }
  | { type: 'stop' };

export interface LoadReport {
  deliveries: number;
  sends: number;
  failedSends: number;
  latencies: number[];
  ackLatencies: number[];
  /** CPU time this process used while measuring, in ms. */
  cpuMs: number;
}

export type FromLoad =
  { type: 'connected' } | { type: 'report'; report: LoadReport } | { type: 'error'; message: string };

const reply = (message: FromLoad) => process.send!(message);
let sockets: Socket[] = [];
let clients: LoadClient[] = [];
const timers: NodeJS.Timeout[] = [];
let measuring = false;
let stopped = false;
let cpuAtStart = process.cpuUsage();
const report: LoadReport = { deliveries: 0, sends: 0, failedSends: 0, latencies: [], ackLatencies: [], cpuMs: 0 };

async function connectAll(): Promise<void> {
  for (let start = 0; start < clients.length; start += 100) {
    const batch = clients.slice(start, start + 100).map((client) => {
      const socket = io(client.url, {
        transports: ['websocket'],
        auth: client.auth,
        reconnection: false,
        forceNew: true,
      });
      return new Promise<Socket>((resolve, reject) => {
        socket.once('connect', () => resolve(socket));
        socket.once('connect_error', reject);
      });
    });
    sockets.push(...(await Promise.all(batch)));
  }
  for (const socket of sockets) {
    socket.on('message:new', ({ message }: { message: { body: string } }) => {
      if (!measuring) return;
      report.deliveries += 1;
      report.latencies.push(performance.now() - Number(message.body));
    });
  }
}

/** Each client sends on its own steady timer; together this process offers `rate` sends/s. */
function startSending(rate: number): void {
  const intervalMs = (1000 * sockets.length) / rate;
  let counter = 0;
  sockets.forEach((socket, i) => {
    const tag = `${process.pid}-${i}`;
    const send = () => {
      if (stopped) return;
      const sentAt = performance.now();
      counter += 1;
      socket
        .timeout(10_000)
        .emitWithAck('message:send', {
          conversationId: clients[i]!.conversationId,
          body: String(sentAt),
          clientMsgId: `b${counter}-${tag}`,
        })
        .then(
          (ack: { ok: boolean }) => {
            if (!measuring) return;
            report.sends += 1;
            if (!ack.ok) report.failedSends += 1;
            report.ackLatencies.push(performance.now() - sentAt);
          },
          () => {
            if (measuring) report.failedSends += 1;
          },
        );
    };
    timers.push(setTimeout(() => timers.push(setInterval(send, intervalMs)), Math.random() * intervalMs));
  });
}

process.on('message', (message: ToLoad) => {
  if (message.type === 'connect') {
    clients = message.clients;
    connectAll().then(
      () => reply({ type: 'connected' }),
      (error: unknown) => reply({ type: 'error', message: String(error) }),
    );
  } else if (message.type === 'send') startSending(message.rate);
  else if (message.type === 'measure' && message.on) {
    measuring = true;
    cpuAtStart = process.cpuUsage();
  } else if (message.type === 'measure') {
    measuring = false;
    stopped = true;
    const cpu = process.cpuUsage(cpuAtStart);
    report.cpuMs = (cpu.user + cpu.system) / 1000;
    for (const timer of timers) clearInterval(timer);
  } else if (message.type === 'stop') {
    for (const socket of sockets) socket.close();
    sockets = [];
    reply({ type: 'report', report });
  }
});
