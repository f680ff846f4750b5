// The upload's temporary-file writer: every byte lands, in order, whatever the chunk sizes against the batch size;
// it never opens a file that exists; a destroyed writer lets go of its file descriptor.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { expect } from 'chai';
import { BatchedFileWriter } from '../../src/storage/batched-file-writer.js';

const openFds = async () => (await readdir('/proc/self/fd')).length;

describe('unit: batched file writer', () => {
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(path.join(os.tmpdir(), 'parley-writer-'))));
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('when chunks of every size cross batch boundaries, then the file holds every byte in order and onChunk saw each chunk', async () => {
    const sizes = [1, 7, 1000, 4096, 65_536, 3, 100_000, 1, 250_000, 17];
    const chunks = sizes.map((size) => randomBytes(size));
    const seen: Buffer[] = [];
    const file = path.join(dir, 'out');
    await pipeline(
      Readable.from(chunks),
      new BatchedFileWriter(file, { batchBytes: 64 * 1024, onChunk: (chunk) => seen.push(chunk) }),
    );
    expect((await readFile(file)).equals(Buffer.concat(chunks))).to.equal(true);
    expect(seen.map((chunk) => chunk.length)).to.deep.equal(sizes);
  });

  it('when the body is smaller than one batch, then it is written at the end', async () => {
    const file = path.join(dir, 'small');
    await pipeline(Readable.from([Buffer.from('hello')]), new BatchedFileWriter(file, { batchBytes: 1024 * 1024 }));
    expect(await readFile(file, 'utf8')).to.equal('hello');
  });

  it('when the file exists, then the writer fails with EEXIST and leaves it untouched', async () => {
    const file = path.join(dir, 'taken');
    await writeFile(file, 'keep me');
    const failure = await pipeline(
      Readable.from([Buffer.from('other')]),
      new BatchedFileWriter(file, { batchBytes: 1024 }),
    ).catch((error: NodeJS.ErrnoException) => error);
    expect((failure as NodeJS.ErrnoException).code).to.equal('EEXIST');
    expect(await readFile(file, 'utf8')).to.equal('keep me');
  });

  it('when the writer is destroyed mid-stream, then its file descriptor is closed', async () => {
    const before = await openFds();
    const writer = new BatchedFileWriter(path.join(dir, 'cut'), { batchBytes: 1024 * 1024 });
    await new Promise<void>((resolve) => writer.write(randomBytes(10_000), () => resolve()));
    expect(await openFds()).to.equal(before + 1);
    await new Promise<void>((resolve) => writer.once('close', () => resolve()).destroy());
    expect(await openFds()).to.equal(before);
  });
});
