// Child processes the topology owns (redis-server, nginx in the foreground): started with their output in a log
// file, stopped by their pid, SIGKILLed if they do not exit in time.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';

export interface OwnedProcess {
  pid: number;
  child: ChildProcess;
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<void>;
}

export function startOwned(
  command: string,
  args: string[],
  logFile: string,
  options: { detached?: boolean } = {},
): OwnedProcess {
  const log = openSync(logFile, 'a');
  const child = spawn(command, args, { stdio: ['ignore', log, log], detached: options.detached ?? false });
  closeSync(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (options.detached) child.unref();
  return {
    pid: child.pid!,
    child,
    async stop(signal = 'SIGTERM', timeoutMs = 10_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
