// Spare ports from the OS for the topology's servers (never fixed ones, so several topologies and test runs
// coexist), including runs of consecutive ports for INSTANCE_PORT_BASE.
import net from 'node:net';

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

export async function freePort(): Promise<number> {
  return (await tryListen(0))!;
}

/** The first of `count` consecutive free ports. */
export async function freePortRun(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const base = await freePort();
    if (base + count > 65_535) continue;
    let free = true;
    for (let port = base + 1; port < base + count && free; port += 1) free = (await tryListen(port)) !== undefined;
    if (free) return base;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}
