// socket.io clients for tests: connect with a token or cookie, wait for events, emit with an ack.
import { setTimeout as sleep } from 'node:timers/promises';
import { io, type Socket } from 'socket.io-client';

export type Client = Socket;

const open = new Set<Client>();

export function connect(
  url: string,
  auth: { token?: string; cookie?: string; origin?: string } = {},
  options: { reconnection?: boolean } = {},
): Promise<Client> {
  const headers: Record<string, string> = {};
  if (auth.cookie) headers.cookie = auth.cookie;
  if (auth.origin) headers.origin = auth.origin;
  const socket = io(url, {
    transports: ['websocket'],
    auth: auth.token ? { token: auth.token } : {},
    extraHeaders: headers,
    reconnection: options.reconnection ?? false,
    reconnectionDelay: 200,
    reconnectionDelayMax: 500,
    timeout: 20_000,
    forceNew: true,
  });
  open.add(socket);
  return new Promise((resolve, reject) => {
    const failed = (error: Error) => {
      open.delete(socket);
      socket.close();
      reject(error);
    };
    socket.once('connect', () => {
      // Later connect_errors are reconnection attempts, for the reconnecting client to retry.
      socket.off('connect_error', failed);
      resolve(socket);
    });
    socket.once('connect_error', failed);
  });
}

export function emitAck<T = any>(socket: Client, event: string, ...args: unknown[]): Promise<T> {
  return socket.timeout(10_000).emitWithAck(event, ...args) as Promise<T>;
}

/** Resolves with the first `event` payload that `match` accepts, or rejects after `ms`. */
export function nextEvent<T = any>(
  socket: Client,
  event: string,
  match: (payload: T) => boolean = () => true,
  ms = 10_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, listener);
      reject(new Error(`no ${event} within ${ms} ms`));
    }, ms);
    const listener = (payload: T) => {
      if (!match(payload)) return;
      clearTimeout(timer);
      socket.off(event, listener);
      resolve(payload);
    };
    socket.on(event, listener);
  });
}

/** Collects every payload of `event` from now on. */
export function collect<T = any>(socket: Client, event: string): T[] {
  const seen: T[] = [];
  socket.on(event, (payload: T) => seen.push(payload));
  return seen;
}

export { sleep };

export async function until(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

export function closeAllClients(): void {
  for (const socket of open) socket.close();
  open.clear();
}
