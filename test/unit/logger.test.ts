// The buffered stdout destination (LOG_BUFFER_BYTES, LOG_FLUSH_MS): lines wait for a batch, but never longer than
// the flush interval, and a process that exits (as a crash does, after logging) writes what it held.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { expect } from 'chai';

const LOGGER = path.resolve(import.meta.dirname, '../../src/core/logger.ts');

/**
 * Runs `body` in a child with a buffered logger `log`; resolves with stdout lines and when each arrived. With
 * `asPm2`, the child's process.stdout.write is replaced first, as PM2's cluster mode does, and counts its calls.
 */
function run(body: string, asPm2 = false): Promise<{ line: string; at: number }[]> {
  const pm2 = `const write = process.stdout.write.bind(process.stdout); globalThis.writes = 0;
process.stdout.write = (text) => { globalThis.writes++; return write(text); };`;
  const script = `${asPm2 ? pm2 : ''}
const { createLogger } = await import(${JSON.stringify(LOGGER)});
const log = createLogger({ level: 'info', instanceId: 't', pretty: false, bufferBytes: 8192, flushMs: 200 });
${body}`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const started = Date.now();
  const lines: { line: string; at: number }[] = [];
  let rest = '';
  child.stdout.on('data', (chunk: Buffer) => {
    const parts = (rest + chunk.toString()).split('\n');
    rest = parts.pop()!;
    for (const line of parts) lines.push({ line, at: Date.now() - started });
  });
  return new Promise((resolve) => child.on('close', () => resolve(lines)));
}

describe('logger: buffered stdout', () => {
  it('when a quiet process logs one line, then it is written within the flush interval, long before exit', async () => {
    const lines = await run(
      `log.info('first'); const t0 = Date.now(); setTimeout(() => log.info({ t0 }, 'last'), 1500);`,
    );
    expect(lines.map(({ line }) => JSON.parse(line).msg)).to.deep.equal(['first', 'last']);
    // Written by the flush timer (200 ms), not with the second line 1.5 s later.
    expect(lines[1]!.at - lines[0]!.at).to.be.greaterThan(1000);
  });

  it('when a process logs and exits at once (a crash path), then every held line is written', async () => {
    const lines = await run(
      `for (let i = 0; i < 100; i++) log.info({ i }, 'held'); log.fatal('crash'); process.exit(1);`,
    );
    expect(lines).to.have.length(101);
    expect(JSON.parse(lines[100]!.line).msg).to.equal('crash');
  });

  it('when stdout.write is replaced (PM2 cluster mode), then lines go through it, batched, and an error line at once', async () => {
    const lines = await run(
      `for (let i = 0; i < 50; i++) log.info({ i }, 'held');
setTimeout(() => { log.error('failed'); const at = Date.now(); while (Date.now() - at < 1000); log.info({ writes: globalThis.writes }, 'after'); }, 500);`,
      true,
    );
    const messages = lines.map(({ line }) => JSON.parse(line) as { msg: string; writes?: number });
    expect(messages.map((m) => m.msg)).to.deep.equal([...Array(50).fill('held'), 'failed', 'after']);
    // 50 lines in one write (the flush timer's), the error line in its own, before the busy second that follows it.
    expect(messages[51]!.writes).to.equal(2);
    expect(lines[51]!.at - lines[50]!.at).to.be.greaterThan(800);
  });
});
