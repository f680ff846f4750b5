// Password hashing with scrypt (memory-hard). Pure functions with no imports from the rest of the service, so
// they can run on the event loop or on a worker thread unchanged.
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const KEY_LENGTH = 32;
const BLOCK_SIZE = 8;
const PARALLELISM = 1;

function derive(password: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  // maxmem must exceed 128 * N * r, or scrypt refuses the parameters.
  const maxmem = 256 * (options.N ?? 1) * (options.r ?? BLOCK_SIZE);
  return new Promise((resolve, reject) =>
    scrypt(password, salt, KEY_LENGTH, { ...options, maxmem }, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

/** Hashes to `scrypt$<log2 N>$<r>$<p>$<salt b64>$<key b64>`, so verification reads its own parameters. */
export async function hashPassword(input: { password: string; cost: number }): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(input.password, salt, { N: 2 ** input.cost, r: BLOCK_SIZE, p: PARALLELISM });
  return ['scrypt', input.cost, BLOCK_SIZE, PARALLELISM, salt.toString('base64'), key.toString('base64')].join('$');
}

export async function verifyPassword(input: { password: string; hash: string }): Promise<boolean> {
  const [scheme, cost, r, p, salt, key] = input.hash.split('$');
  if (scheme !== 'scrypt' || !cost || !r || !p || !salt || !key) return false;
  const expected = Buffer.from(key, 'base64');
  const actual = await derive(input.password, Buffer.from(salt, 'base64'), {
    N: 2 ** Number(cost),
    r: Number(r),
    p: Number(p),
  });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
