// The catalogue of worker tasks: which compiled file and export each one is. Workers always load the compiled
// JavaScript under dist/, also when the caller runs from src/ through tsx (tests): src/cpu and dist/cpu sit at
// the same depth, so one relative URL finds dist/ from both. `npm test` builds first.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { gzipNdjsonPage } from './tasks/export.task.js';
import type { hashPasswordBlocking, verifyPasswordBlocking } from './tasks/password.task.js';
import type { makeThumbnail } from './tasks/thumbnail.task.js';
import type { receiveUploadStream } from './tasks/upload.task.js';
import type { TaskRef } from './worker-pool.js';

const COMPILED_TASKS = new URL('../../dist/cpu/tasks/', import.meta.url);

export const compiledTaskFile = (name: string): string => fileURLToPath(new URL(name, COMPILED_TASKS));

type Ref<F extends (input: never) => unknown> = TaskRef<Parameters<F>[0], Awaited<ReturnType<F>>>;

const passwordFile = compiledTaskFile('password.task.js');

export const TASKS = {
  // The blocking flavours: the hash runs on the pool's thread itself, not on libuv's shared threads.
  hashPassword: { file: passwordFile, name: 'hashPasswordBlocking' } as Ref<typeof hashPasswordBlocking>,
  verifyPassword: { file: passwordFile, name: 'verifyPasswordBlocking' } as Ref<typeof verifyPasswordBlocking>,
  gzipNdjsonPage: { file: compiledTaskFile('export.task.js'), name: 'gzipNdjsonPage' } as Ref<typeof gzipNdjsonPage>,
  makeThumbnail: { file: compiledTaskFile('thumbnail.task.js'), name: 'makeThumbnail' } as Ref<typeof makeThumbnail>,
  // Runs on the upload threads (many at once per thread), never on the CPU pool.
  receiveUpload: { file: compiledTaskFile('upload.task.js'), name: 'receiveUploadStream' } as Ref<
    typeof receiveUploadStream
  >,
} as const;

/** Fails at start, with the fix in the message, rather than at the first login, when dist/ has not been built. */
export function assertTasksCompiled(): void {
  const missing = [...new Set(Object.values(TASKS).map((task) => task.file))].filter((file) => !existsSync(file));
  if (missing.length > 0)
    throw new Error(`Worker task files are not built (${missing.join(', ')}): run \`npm run build\``);
}
