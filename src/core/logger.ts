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
 * stdout, with lines held up to `bufferBytes`. Unbuffered, every access-log line is its own write: the history-read
 * profile put 17% of a Parley process's CPU in pino and sonic-boom at ~2,700 reads/s; buffered, lines leave in one
 * write per `bufferBytes`.
 */
function stdout(bufferBytes: number, flushMs: number): DestinationStream {
  // Through process.stdout, not fd 1 directly: PM2's cluster mode replaces process.stdout.write (its
  // ProcessContainer sends each write to the daemon's log files), so a write to fd 1 would never reach `pm2 logs`.
  // Elsewhere, on Linux, process.stdout writes to files and pipes synchronously, so the lines flushed at exit are
  // written, and in order. (pino's asynchronous fd destination, used before, could write a crash's last lines
  // before a batch still in flight: the fatal line came out of order.)
  return bufferBytes > 0
    ? new BatchedLines((text) => process.stdout.write(text), bufferBytes, flushMs)
    : process.stdout;
}

const ERROR_LEVEL = 50;
const PINO_METADATA = Symbol.for('pino.metadata');

/**
 * Lines joined into one write per `bufferBytes` or `flushMs`, and at exit. An error or fatal line goes at once with
 * what was held before it: under PM2's cluster mode a write at exit may not complete (PM2 forwards it over IPC),
 * so the line a crash logs must not wait in this buffer.
 */
class BatchedLines implements DestinationStream {
  lastLevel = 0;
  private held = '';

  constructor(
    private readonly out: (text: string) => void,
    private readonly bufferBytes: number,
    flushMs: number,
  ) {
    // pino sets lastLevel before each write on a destination that asks for it (the way its multistream learns
    // each line's level).
    Object.defineProperty(this, PINO_METADATA, { value: true });
    setInterval(() => this.flush(), flushMs).unref();
    process.once('exit', () => this.flush());
  }

  write(line: string): void {
    this.held += line;
    if (this.lastLevel >= ERROR_LEVEL || this.held.length >= this.bufferBytes) this.flush();
  }

  private flush(): void {
    if (this.held === '') return;
    const text = this.held;
    this.held = '';
    this.out(text);
  }
}
