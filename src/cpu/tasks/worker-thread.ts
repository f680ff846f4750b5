// Imported by every task file for one effect: on a worker thread, lower that thread's scheduling priority, so
// CPU-bound tasks yield the cores to the event loop (health checks, socket traffic) whenever it has work, and
// still get all the idle CPU. On Linux the nice value is per thread, so the main thread keeps its priority; on
// the main thread (inline hashing, tests) this does nothing.
import os from 'node:os';
import { isMainThread } from 'node:worker_threads';

/** Nice steps below the process (capped at 19): well below the event loop, without starving the pool. */
export const WORKER_THREAD_NICE = 10;

if (!isMainThread) {
  try {
    // A new thread starts with its creator's nice value; lower it relative to that.
    os.setPriority(Math.min(19, os.getPriority() + WORKER_THREAD_NICE));
  } catch {
    // Not allowed here (some containers or platforms): the pool still works, at normal priority.
  }
}
