// Spare ports for the servers the topology and the tests start (never fixed ones, so several topologies and test
// runs coexist), including runs of consecutive ports for INSTANCE_PORT_BASE.
//
// They are picked below the kernel's ephemeral range (ip_local_port_range, 32768-60999 by default), not with
// listen(0), which picks inside it. A port is probed here and bound seconds later by the server that gets it; an
// ephemeral port can meanwhile become the local end of any outgoing connection on the machine, and that server's
// bind then fails with EADDRINUSE. It did, once in CI: a topology host's instance port, taken while the other host
// was connecting to Redis and PostgreSQL. Below the range, only servers that choose their port compete, and each of
// them probes first.
import { readFileSync } from 'node:fs';
import net from 'node:net';

const LOWEST = 10_000;
const ATTEMPTS = 200;

function ephemeralRangeStart(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) ? low : 32_768;
  } catch {
    return 32_768;
  }
}

/** Read once: the range is the machine's, fixed while tests run. */
const EPHEMERAL_START = ephemeralRangeStart();

/** The port bound, or undefined when it is taken. Port 0 asks the OS for any free port. */
function tryListen(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => {
      const { port: bound } = server.address() as net.AddressInfo;
      server.close(() => resolve(bound));
    });
  });
}

/** Whether `count` consecutive ports from `base` are all free now. */
async function runIsFree(base: number, count: number): Promise<boolean> {
  if (base + count > 65_535) return false;
  for (let port = base; port < base + count; port += 1) if ((await tryListen(port)) === undefined) return false;
  return true;
}

/** The first of `count` consecutive ports that are free now, below the ephemeral range when it leaves room. */
export async function freePortRun(count: number): Promise<number> {
  const highest = EPHEMERAL_START - count;
  for (let attempt = 0; attempt < ATTEMPTS && highest > LOWEST; attempt += 1) {
    const base = LOWEST + Math.floor(Math.random() * (highest - LOWEST));
    if (await runIsFree(base, count)) return base;
  }
  // No room below the range (an unusual ip_local_port_range): let the OS pick, and check the run after it.
  for (let attempt = 0; attempt < ATTEMPTS; attempt += 1) {
    const base = (await tryListen(0))!;
    if (await runIsFree(base, count)) return base;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}

export const freePort = (): Promise<number> => freePortRun(1);
