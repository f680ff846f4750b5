// Logins of unknown users verify against a decoy hash (so both failures take the same time). When making that
// decoy fails once (the worker pool was full), the failure must not be remembered.
import { expect } from 'chai';
import { AppError, overloaded } from '../../src/core/errors.js';
import { AuthService } from '../../src/services/auth.service.js';
import { inlinePasswordHasher, type PasswordHasher } from '../../src/services/password-hasher.js';
import { useTestApp } from '../support/app.js';
import { uniqueName } from '../support/client.js';

describe('login of unknown users when hashing is refused', () => {
  const app = useTestApp();

  it('when the decoy hash is refused once, then that login is overloaded and the next unknown-user login is unauthorized', async () => {
    const real = inlinePasswordHasher(10);
    let hashes = 0;
    const refusesFirstHash: PasswordHasher = {
      hash: (password) => (++hashes === 1 ? Promise.reject(overloaded(1)) : real.hash(password)),
      verify: real.verify,
    };
    const auth = new AuthService(
      app.parley.db,
      refusesFirstHash,
      app.parley.tokens,
      app.parley.revocations,
      86_400_000,
      app.parley.log,
    );
    const outcome = (username: string) =>
      auth.login({ username, password: 'whatever1' }).then(
        () => 'logged in',
        (error: unknown) => (error instanceof AppError ? error.code : String(error)),
      );
    expect(await outcome(uniqueName('nobody'))).to.equal('overloaded');
    expect(await outcome(uniqueName('nobody'))).to.equal('unauthorized');
    expect(hashes).to.equal(2);
  });
});
