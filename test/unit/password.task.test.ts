import { expect } from 'chai';
import {
  hashPassword,
  hashPasswordBlocking,
  verifyPassword,
  verifyPasswordBlocking,
} from '../../src/cpu/tasks/password.task.js';

// The lowest cost the configuration allows keeps these fast; the parameters travel inside the hash.
const COST = 10;

const FLAVOURS = {
  async: { hash: hashPassword, verify: verifyPassword },
  blocking: {
    hash: async (input: { password: string; cost: number }) => hashPasswordBlocking(input),
    verify: async (input: { password: string; hash: string }) => verifyPasswordBlocking(input),
  },
};

for (const [flavour, { hash: hashWith, verify: verifyWith }] of Object.entries(FLAVOURS)) {
  describe(`password task (${flavour})`, () => {
    it('when a password is hashed, then the hash names scrypt, its cost and a salt, and verifies', async () => {
      const hash = await hashWith({ password: 'correct horse', cost: COST });
      const [scheme, cost, r, p, salt, key] = hash.split('$');
      expect(scheme).to.equal('scrypt');
      expect(cost).to.equal(String(COST));
      expect([r, p]).to.deep.equal(['8', '1']);
      expect(Buffer.from(salt!, 'base64')).to.have.length(16);
      expect(Buffer.from(key!, 'base64')).to.have.length(32);
      expect(await verifyWith({ password: 'correct horse', hash })).to.equal(true);
    });

    it('when the same password is hashed twice, then the salts differ', async () => {
      const a = await hashWith({ password: 'pw123456', cost: COST });
      const b = await hashWith({ password: 'pw123456', cost: COST });
      expect(a).to.not.equal(b);
    });

    it('when the password is wrong, then verification is false', async () => {
      const hash = await hashWith({ password: 'correct horse', cost: COST });
      expect(await verifyWith({ password: 'correct horsE', hash })).to.equal(false);
    });

    it('when the stored hash is malformed, then verification is false rather than an error', async () => {
      expect(await verifyWith({ password: 'x', hash: 'bcrypt$10$abc' })).to.equal(false);
      expect(await verifyWith({ password: 'x', hash: '' })).to.equal(false);
    });

    it('when the stored parameters are impossible, then verification fails with an error (the caller answers 500)', async () => {
      const hash = await hashWith({ password: 'pw123456', cost: COST });
      for (const cost of ['0', 'abc']) {
        const impossible = hash.replace(/^scrypt\$10\$/, `scrypt$${cost}$`);
        const failure = await verifyWith({ password: 'pw123456', hash: impossible }).then(
          () => undefined,
          (error: unknown) => error,
        );
        expect(failure, `cost ${cost}`).to.be.instanceOf(Error);
      }
    });
  });
}

describe('password task flavours', () => {
  it('when one flavour hashes, then the other verifies it: they are one format', async () => {
    const fromAsync = await hashPassword({ password: 'same format', cost: COST });
    const fromBlocking = hashPasswordBlocking({ password: 'same format', cost: COST });
    expect(verifyPasswordBlocking({ password: 'same format', hash: fromAsync })).to.equal(true);
    expect(await verifyPassword({ password: 'same format', hash: fromBlocking })).to.equal(true);
  });
});
