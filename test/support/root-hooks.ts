// Runs once per mocha run: a fresh database and Redis key space before, removed after.
import { createTestServices, dropTestServices } from './services.js';

export async function mochaGlobalSetup(): Promise<void> {
  await createTestServices();
}

export async function mochaGlobalTeardown(): Promise<void> {
  await dropTestServices();
}
