import { expect } from 'chai';
import { gunzipSync } from 'node:zlib';
import { gzipNdjsonPage } from '../../src/cpu/tasks/export.task.js';

const lines = (gzipped: Uint8Array): string[] => gunzipSync(gzipped).toString('utf8').split('\n');

describe('export task: gzipNdjsonPage', () => {
  it('when a page is compressed, then it gunzips to one JSON line per record, in order', () => {
    const records = [
      { seq: 1, body: 'hello' },
      { seq: 2, body: 'line\nbreak and "quotes" and ünïcode' },
    ];
    const out = lines(gzipNdjsonPage({ records }));
    expect(out.at(-1)).to.equal('');
    expect(out.slice(0, -1).map((line) => JSON.parse(line))).to.deep.equal(records);
  });

  it('when pages are concatenated, then the result is one valid gzip stream of all lines', () => {
    const first = gzipNdjsonPage({ records: [{ seq: 1 }, { seq: 2 }] });
    const second = gzipNdjsonPage({ records: [{ seq: 3 }] });
    const out = lines(Buffer.concat([first, second]));
    expect(out.slice(0, -1).map((line) => JSON.parse(line).seq)).to.deep.equal([1, 2, 3]);
  });

  it('when the page is empty, then the output is still a valid (empty) gzip member', () => {
    const gzipped = gzipNdjsonPage({ records: [] });
    expect(gzipped.length).to.be.greaterThan(0);
    expect(gunzipSync(gzipped).length).to.equal(0);
  });

  it('when records is not an array, then it throws a TypeError', () => {
    expect(() => gzipNdjsonPage({ records: 'nope' as unknown as unknown[] })).to.throw(TypeError);
    expect(() => gzipNdjsonPage(undefined as unknown as { records: unknown[] })).to.throw(TypeError);
  });
});
