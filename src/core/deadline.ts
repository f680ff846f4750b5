// Waiting on a promise with a deadline, written once: the worker pool's close, the shutdown's stages, presence at
// close and the stream publisher's XADD each had their own race with a timer.

/**
 * True when `work` finished within `ms`, false when the time ran out first (it may still finish later); rejects when
 * it failed in time. The timer never keeps the process alive or outlives the wait.
 */
export async function settledWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, ms));
    timer.unref();
  });
  try {
    return await Promise.race([work.then(() => true), expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** `work`'s result, or a rejection with `message` once `ms` have passed. */
export async function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
    timer.unref();
  });
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}
