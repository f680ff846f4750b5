// The root logger. Every line carries pid and instance id; modules take a child with their own name.
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

export interface LoggerOptions {
  level: string;
  instanceId: string;
  pretty: boolean;
  /**
   * Bytes of log lines held before one write to stdout (LOG_BUFFER_BYTES); 0 writes every line as it comes. Held
   * lines are written at least every `flushMs` (LOG_FLUSH_MS) and at exit, so a SIGKILL loses at most that much.
   */
  bufferBytes?: number;
  flushMs?: number;
}

export function createLogger({ level, instanceId, pretty, bufferBytes = 0, flushMs = 100 }: LoggerOptions): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid, instance: instanceId },
      // PM2 must not add its own timestamp (it breaks JSON lines); pino stamps the time itself.
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'password', 'refreshToken'], remove: true },
      ...(pretty ? { transport: { target: 'pino-pretty', options: { colorize: true, singleLine: true } } } : {}),
    },
    pretty ? undefined : stdout(bufferBytes, flushMs),
  );
}

/**
 * stdout as pino's asynchronous destination. Unbuffered, every access-log line is its own write system call: the
 * history-read profile put 17% of a Parley process's CPU in pino and sonic-boom at ~2,700 reads/s; buffered, lines
 * leave in one write per `bufferBytes`. pino flushes the buffer synchronously at exit (a crash logs, then exits).
 */
function stdout(bufferBytes: number, flushMs: number): DestinationStream {
  const destination = pino.destination({ dest: 1, sync: false, minLength: bufferBytes });
  // A quiet process still shows its lines within flushMs (pm2 logs, tests that wait for a line).
  if (bufferBytes > 0) setInterval(() => destination.flush(), flushMs).unref();
  return destination;
}
