// The root logger. Every line carries pid and instance id; modules take a child with their own name.
import { pino, type Logger } from 'pino';

export type { Logger };

export interface LoggerOptions {
  level: string;
  instanceId: string;
  pretty: boolean;
}

export function createLogger({ level, instanceId, pretty }: LoggerOptions): Logger {
  return pino({
    level,
    base: { pid: process.pid, instance: instanceId },
    // PM2 must not add its own timestamp (it breaks JSON lines); pino stamps the time itself.
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'password', 'refreshToken'], remove: true },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { colorize: true, singleLine: true } } } : {}),
  });
}
