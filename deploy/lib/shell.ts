// Runs a shell script on a machine of the deployment: this one (`sh -c`) or another over ssh. The same script
// text runs either way, so the local topology exercises exactly what a real deploy sends to its hosts.
import { execFile } from 'node:child_process';

export const quote = (value: string): string => `'${value.replaceAll("'", `'\\''`)}'`;

export function runScript(ssh: string | undefined, script: string, timeoutMs = 120_000): Promise<string> {
  const [file, args] = ssh === undefined ? ['sh', ['-c', script]] : ['ssh', ['-o', 'BatchMode=yes', ssh, script]];
  // A clean environment locally: what a host's PM2 sees comes from its env file, never from the deploying shell.
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp' };
  return new Promise((resolve, reject) => {
    execFile(file, args, { env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error)
        reject(
          new Error(
            `${ssh ? `ssh ${ssh}: ` : ''}${script}\nfailed: ${error.message.trim()}\n${stdout}${stderr}`.trim(),
          ),
        );
      else resolve(stdout);
    });
  });
}
