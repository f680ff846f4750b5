// Turns untrusted input into typed values with zod; a failure becomes validation_failed with the fields named.
import type { z } from 'zod';
import { validationFailed } from './errors.js';

export function parseInput<T extends z.ZodType>(schema: T, input: unknown, what = 'Request'): z.infer<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const fields: Record<string, string> = {};
  for (const issue of result.error.issues) {
    const path = issue.path.length > 0 ? issue.path.join('.') : '(body)';
    fields[path] ??= issue.message;
  }
  throw validationFailed(`${what} is invalid`, { fields });
}
