import { expect } from 'chai';
import { deflateRawSync } from 'node:zlib';
import { createHmac } from 'node:crypto';
import { ChangesTokens } from '../../src/services/changes-token.js';

describe('changes tokens', () => {
  const tokens = new ChangesTokens('a-secret-of-the-server-0123456789');
  const refused = (read: () => unknown) => expect(read).to.throw().with.property('code', 'validation_failed');

  it('when a token is read back by its user, then it gives the counters it was issued with (zeros left out)', () => {
    const token = tokens.issue(
      '7',
      new Map([
        ['12', 3],
        ['40', 0],
        ['9000000000000000001', 17],
      ]),
    );
    expect([...tokens.read('7', token)]).to.deep.equal([
      ['12', 3],
      ['9000000000000000001', 17],
    ]);
  });

  it('when another user, another server secret or a changed byte presents it, then it is refused', () => {
    const token = tokens.issue('7', new Map([['12', 3]]));
    refused(() => tokens.read('8', token));
    refused(() => new ChangesTokens('another-secret-of-a-server-01234').read('7', token));
    const [body, signature] = token.split('.') as [string, string];
    for (let i = 0; i < body.length; i++) {
      const changed = body.slice(0, i) + (body[i] === 'A' ? 'B' : 'A') + body.slice(i + 1);
      refused(() => tokens.read('7', `${changed}.${signature}`));
    }
    refused(() => tokens.read('7', `${body}.${signature.slice(0, -2)}`));
  });

  it('when a token is signed correctly but holds the wrong shape, then it is refused rather than trusted', () => {
    // Signed the way the server signs, to show the payload is checked after the signature too.
    const key = createHmac('sha256', 'a-secret-of-the-server-0123456789').update('parley changes token v1').digest();
    const forge = (payload: unknown) => {
      const body = deflateRawSync(Buffer.from(JSON.stringify(payload)));
      return `${body.toString('base64url')}.${createHmac('sha256', key).update(body).digest().subarray(0, 16).toString('base64url')}`;
    };
    expect([...tokens.read('7', forge({ v: 1, u: '7', c: [['5', 2]] }))]).to.deep.equal([['5', 2]]);
    for (const payload of [
      { v: 2, u: '7', c: [] },
      { v: 1, u: '7', c: [['x', 1]] },
      { v: 1, u: '7', c: [['5', -1]] },
      { v: 1, u: '7' },
      'text',
    ]) {
      refused(() => tokens.read('7', forge(payload)));
    }
  });

  it('when the token is not two base64url parts, then it is refused', () => {
    for (const token of ['', '.', 'abc', 'a.b.c', '...']) refused(() => tokens.read('7', token));
  });
});
