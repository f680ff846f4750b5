// References to the test-only worker tasks in test/fixtures/tasks/ (plain JavaScript, loadable by a worker thread
// without a TypeScript loader).
import { fileURLToPath } from 'node:url';
import type { TaskRef, WorkerPool } from '../../src/cpu/worker-pool.js';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/tasks/${name}`, import.meta.url));
const faulty = fixture('faulty.task.mjs');

/** Tasks that throw, run out of memory, or hold a worker busy. */
export const FAULTY = {
  fail: { file: faulty, name: 'fail' } as TaskRef<{ message: string }, never>,
  exhaustHeap: { file: faulty, name: 'exhaustHeap' } as TaskRef<Record<string, never>, never>,
  hold: { file: faulty, name: 'hold' } as TaskRef<{ ms: number }, number>,
};

export const THREAD_PRIORITY = { file: fixture('thread-priority.task.mjs'), name: 'threadPriority' } as TaskRef<
  Record<string, never>,
  number
>;

/**
 * For a pool of one thread and a queue of one: warms the thread, then holds it and fills the queue slot for `ms`,
 * so the next task is refused. Resolves when both holds end.
 */
export async function fillPoolOfOne(
  pool: Pick<WorkerPool, 'run'>,
  ms: number,
): Promise<{ released: Promise<unknown> }> {
  await pool.run(FAULTY.hold, { ms: 1 });
  return { released: Promise.all([pool.run(FAULTY.hold, { ms }), pool.run(FAULTY.hold, { ms })]) };
}
