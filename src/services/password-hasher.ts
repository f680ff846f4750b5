// The one async door to password hashing. The inline hasher runs scrypt through libuv's thread pool; the
// worker-pool hasher (cpu/) moves it to Piscina. Services only see this interface.
import { hashPassword, verifyPassword } from '../cpu/tasks/password.task.js';

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
