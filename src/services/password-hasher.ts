// The one async door to password hashing. The inline hasher runs scrypt through libuv's thread pool from the
// event loop; the worker-pool hasher runs the same functions on the Piscina pool (cpu/), where a full queue
// answers 503 instead of piling up. Services only see this interface.
import { TASKS } from '../cpu/tasks.js';
import { hashPassword, verifyPassword } from '../cpu/tasks/password.task.js';
import type { WorkerPool } from '../cpu/worker-pool.js';

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(password: string, hash: string): Promise<boolean>;
}

export function inlinePasswordHasher(cost: number): PasswordHasher {
  return {
    hash: (password) => hashPassword({ password, cost }),
    verify: (password, hash) => verifyPassword({ password, hash }),
  };
}

export function workerPoolPasswordHasher(pool: WorkerPool, cost: number): PasswordHasher {
  return {
    hash: (password) => pool.run(TASKS.hashPassword, { password, cost }),
    verify: (password, hash) => pool.run(TASKS.verifyPassword, { password, hash }),
  };
}
