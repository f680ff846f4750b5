// Password hashing with scrypt (memory-hard). Pure functions with no imports from the rest of the service, so
// they run on the event loop or on a worker thread unchanged. Two flavours of the same hash:
// - async (hashPassword, verifyPassword): scrypt on libuv's thread pool, for callers on the event loop;
// - blocking (hashPasswordBlocking, verifyPasswordBlocking): scrypt on the calling thread, for Piscina workers,
//   so the hash really runs on the pool's own (lower-priority) thread and the pool's size is the hashing concurrency.
import { randomBytes, scrypt, scryptSync, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const KEY_LENGTH = 32;
const SALT_LENGTH = 16;
const BLOCK_SIZE = 8;
const PARALLELISM = 1;

// maxmem must exceed 128 * N * r, or scrypt refuses the parameters.
const withMaxmem = (options: ScryptOptions): ScryptOptions => ({
  ...options,
  maxmem: 256 * (options.N ?? 1) * (options.r ?? BLOCK_SIZE),
});

function derive(password: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, KEY_LENGTH, withMaxmem(options), (error, key) => (error ? reject(error) : resolve(key))),
  );
}

const deriveBlocking = (password: string, salt: Buffer, options: ScryptOptions): Buffer =>
  scryptSync(password, salt, KEY_LENGTH, withMaxmem(options));

const newHashOptions = (cost: number): ScryptOptions => ({ N: 2 ** cost, r: BLOCK_SIZE, p: PARALLELISM });

/** `scrypt$<log2 N>$<r>$<p>$<salt b64>$<key b64>`, so verification reads its own parameters. */
const format = (cost: number, salt: Buffer, key: Buffer): string =>
  ['scrypt', cost, BLOCK_SIZE, PARALLELISM, salt.toString('base64'), key.toString('base64')].join('$');

function parse(hash: string): { salt: Buffer; expected: Buffer; options: ScryptOptions } | undefined {
  const [scheme, cost, r, p, salt, key] = hash.split('$');
  if (scheme !== 'scrypt' || !cost || !r || !p || !salt || !key) return undefined;
  const options = { N: 2 ** Number(cost), r: Number(r), p: Number(p) };
  return { salt: Buffer.from(salt, 'base64'), expected: Buffer.from(key, 'base64'), options };
}

const matches = (actual: Buffer, expected: Buffer): boolean =>
  actual.length === expected.length && timingSafeEqual(actual, expected);

export async function hashPassword(input: { password: string; cost: number }): Promise<string> {
  const salt = randomBytes(SALT_LENGTH);
  return format(input.cost, salt, await derive(input.password, salt, newHashOptions(input.cost)));
}

export async function verifyPassword(input: { password: string; hash: string }): Promise<boolean> {
  const stored = parse(input.hash);
  if (!stored) return false;
  return matches(await derive(input.password, stored.salt, stored.options), stored.expected);
}

export function hashPasswordBlocking(input: { password: string; cost: number }): string {
  const salt = randomBytes(SALT_LENGTH);
  return format(input.cost, salt, deriveBlocking(input.password, salt, newHashOptions(input.cost)));
}

export function verifyPasswordBlocking(input: { password: string; hash: string }): boolean {
  const stored = parse(input.hash);
  if (!stored) return false;
  return matches(deriveBlocking(input.password, stored.salt, stored.options), stored.expected);
}
