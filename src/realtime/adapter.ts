// Which socket.io adapter carries broadcasts between processes, chosen by SOCKET_ADAPTER:
//  - redis:   Redis Streams (adapter-redis.ts), the default with REDIS_URL.
//  - cluster: Node cluster IPC under the @socket.io/pm2 daemon (adapter-cluster.ts), which the design card asks for.
//  - memory:  one process.
import type { ServerOptions } from 'socket.io';
import type { Config } from '../config.js';
import type { Logger } from '../core/logger.js';
import { clusterAdapter } from './adapter-cluster.js';
import { redisStreamsAdapter } from './adapter-redis.js';
import type { ParleyServer } from './events.js';
import type { OrderedPublish } from './stream-publisher.js';

export type AdapterName = 'redis' | 'cluster' | 'memory';

export interface AdapterChoice {
  name: AdapterName;
  /** Options to merge into the socket.io server options. */
  options: Partial<ServerOptions>;
  /** Broadcasts that every process delivers in one global order (redis only; elsewhere a plain emit). */
  orderedPublish?: OrderedPublish;
  /**
   * Wiring that needs the server (cluster: accept the connections the daemon's sticky balancer hands over, and
   * check that every worker is seen). Returns a check that settles once the adapter is whole, or rejects when it
   * never will be.
   */
  attach?(io: ParleyServer): SplitCheck | undefined;
  /**
   * Whether broadcasts can flow now, and when that changes (events may be lost meanwhile: the history cache clears).
   */
  connection: { connected(): boolean; onChange(listener: (connected: boolean) => void): void };
  close(): Promise<void>;
}

export interface SplitCheck {
  /** Resolves with the server count seen; rejects with the reason the cluster is split. */
  done: Promise<number>;
  cancel(): void;
}

export const alwaysConnected: AdapterChoice['connection'] = { connected: () => true, onChange: () => undefined };

export function chooseAdapter(config: Config, log: Logger, onError: (error: Error) => void): AdapterChoice {
  const name = config.realtime.adapter;
  if (name === 'redis') return redisStreamsAdapter(config, log, onError);
  if (name === 'cluster') return clusterAdapter(config.realtime);
  return { name, options: {}, connection: alwaysConnected, close: async () => undefined };
}
