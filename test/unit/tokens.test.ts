import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import { TokenService } from '../../src/services/tokens.js';

const SECRET = 'x'.repeat(40);

describe('access tokens', () => {
  for (const cacheSize of [0, 100]) {
    describe(`with a verified-token cache of ${cacheSize}`, () => {
      const tokens = new TokenService(SECRET, 60, cacheSize);

      it('when a token is verified twice, then both give its claims', async () => {
        const token = await tokens.signAccess('42', 'family-1');
        for (let i = 0; i < 2; i += 1)
          expect(await tokens.verifyAccess(token)).to.include({ userId: '42', familyId: 'family-1' });
      });

      it('when a verified token is sent again with another signature or another secret, then it is refused', async () => {
        const token = await tokens.signAccess('42', 'family-1');
        await tokens.verifyAccess(token);
        const [header, payload] = token.split('.');
        await expectUnauthorized(tokens.verifyAccess(`${header}.${payload}.${'A'.repeat(43)}`));
        await expectUnauthorized(new TokenService('y'.repeat(40), 60, cacheSize).verifyAccess(token));
      });
    });
  }

  it('when a cached token expires, then it is refused', async () => {
    const tokens = new TokenService(SECRET, 1, 100);
    const token = await tokens.signAccess('42', 'family-1');
    await tokens.verifyAccess(token);
    await sleep(2100);
    await expectUnauthorized(tokens.verifyAccess(token));
  });
});

async function expectUnauthorized(verifying: Promise<unknown>): Promise<void> {
  const outcome = await verifying.then(
    () => 'verified',
    (error: { code?: string }) => error.code,
  );
  expect(outcome).to.equal('unauthorized');
}
