// A deliberate leak for the cluster tests to prove the memory guard restarts a worker gracefully. config.ts only
// lets it run outside production, or in production with ALLOW_TEST_LEAK=true as well.
import type { Logger } from '../core/logger.js';

export function startTestLeak(mbPerSec: number, log: Logger): () => void {
  const retained: Buffer[] = [];
  log.warn({ mbPerSec }, 'MEMORY_TEST_LEAK_MB_PER_SEC is set: this process leaks memory on purpose (tests only)');
  // Filled buffers, so the pages are really committed and count in RSS.
  const timer = setInterval(() => retained.push(Buffer.alloc(mbPerSec * 1024 * 1024, 1)), 1000).unref();
  return () => {
    clearInterval(timer);
    retained.length = 0;
  };
}
