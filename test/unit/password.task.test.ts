import { expect } from 'chai';
import { hashPassword, verifyPassword } from '../../src/cpu/tasks/password.task.js';

// The lowest cost the configuration allows keeps these fast; the parameters travel inside the hash.
const COST = 10;

describe('password task', () => {
  it('when a password is hashed, then the hash names scrypt, its cost and a salt, and verifies', async () => {
    const hash = await hashPassword({ password: 'correct horse', cost: COST });
    const [scheme, cost, r, p, salt, key] = hash.split('$');
    expect(scheme).to.equal('scrypt');
    expect(cost).to.equal(String(COST));
    expect([r, p]).to.deep.equal(['8', '1']);
    expect(Buffer.from(salt!, 'base64')).to.have.length(16);
    expect(Buffer.from(key!, 'base64')).to.have.length(32);
    expect(await verifyPassword({ password: 'correct horse', hash })).to.equal(true);
  });

  it('when the same password is hashed twice, then the salts differ', async () => {
    const [a, b] = await Promise.all([hashPassword({ password: 'pw123456', cost: COST }), hashPassword({ password: 'pw123456', cost: COST })]);
    expect(a).to.not.equal(b);
  });

  it('when the password is wrong, then verification is false', async () => {
    const hash = await hashPassword({ password: 'correct horse', cost: COST });
    expect(await verifyPassword({ password: 'correct horsE', hash })).to.equal(false);
  });

  it('when the stored hash is malformed, then verification is false rather than an error', async () => {
    expect(await verifyPassword({ password: 'x', hash: 'bcrypt$10$abc' })).to.equal(false);
    expect(await verifyPassword({ password: 'x', hash: '' })).to.equal(false);
  });

  it('when the stored parameters are impossible, then verification rejects (the caller answers 500)', async () => {
    const hash = await hashPassword({ password: 'pw123456', cost: COST });
    for (const cost of ['0', 'abc']) {
      const impossible = hash.replace(/^scrypt\$10\$/, `scrypt$${cost}$`);
      const failure = await verifyPassword({ password: 'pw123456', hash: impossible }).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure, `cost ${cost}`).to.be.instanceOf(Error);
    }
  });
});
