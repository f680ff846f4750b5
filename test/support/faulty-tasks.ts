// References to the test-only worker tasks in test/fixtures/tasks/faulty.task.mjs.
import { fileURLToPath } from 'node:url';
import type { TaskRef } from '../../src/cpu/worker-pool.js';

const file = fileURLToPath(new URL('../fixtures/tasks/faulty.task.mjs', import.meta.url));

export const FAULTY = {
  fail: { file, name: 'fail' } as TaskRef<{ message: string }, never>,
  exhaustHeap: { file, name: 'exhaustHeap' } as TaskRef<Record<string, never>, never>,
  hold: { file, name: 'hold' } as TaskRef<{ ms: number }, number>,
};
