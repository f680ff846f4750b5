// What an upload is judged to be from its bytes, and what is left of its file name.
import { expect } from 'chai';
import { sniffContentType, servedInline } from '../../src/services/attachment-types.js';
import { displayName } from '../../src/cpu/tasks/upload.task.js';

const sniff = (text: string | Buffer, complete = true) =>
  sniffContentType(typeof text === 'string' ? Buffer.from(text) : text, complete);

describe('attachment types: sniffing', () => {
  it('when the bytes have a binary signature, then that type wins over anything else', async () => {
    expect(
      await sniff(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52])),
    ).to.equal('image/png');
    expect(await sniff('%PDF-1.7\n')).to.equal('application/pdf');
    expect(await sniff(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46, 0x49, 0x46, 0]))).to.equal(
      'image/jpeg',
    );
  });

  it('when the bytes are UTF-8 text, then text/plain; markup is never plain text', async () => {
    expect(await sniff('grüße\r\n\tand more\n')).to.equal('text/plain');
    expect(await sniff('\uFEFF  <html><body>x</body></html>')).to.equal('text/html');
    expect(await sniff('<script>alert(1)</script>')).to.equal('text/html');
    expect(await sniff('<svg xmlns="http://www.w3.org/2000/svg"/>')).to.equal('image/svg+xml');
    expect(await sniff('<?xml version="1.0"?><svg></svg>')).to.equal('image/svg+xml');
    expect(await sniff('<?xml version="1.0"?><note/>')).to.equal('application/xml');
  });

  it('when the sample ends inside a multi-byte character, then it is still text; a whole file cut like that is not', async () => {
    const cut = Buffer.from('aé').subarray(0, 2);
    expect(await sniff(cut, false)).to.equal('text/plain');
    expect(await sniff(cut, true)).to.equal(undefined);
  });

  it('when the bytes have control characters or invalid UTF-8, then the type is unknown', async () => {
    expect(await sniff(Buffer.from([0x41, 0x00, 0x42]))).to.equal(undefined);
    expect(await sniff(Buffer.from([0xc3, 0x28]))).to.equal(undefined);
  });

  it('when a type is served, then only raster images are inline', () => {
    expect(['image/png', 'image/jpeg', 'image/gif', 'image/webp'].every(servedInline)).to.equal(true);
    expect(['image/svg+xml', 'text/html', 'application/pdf', 'text/plain'].some(servedInline)).to.equal(false);
  });
});

describe('attachment names', () => {
  it('when a name has directories, then only its last part is kept', () => {
    expect(displayName('../../etc/passwd', 255)).to.equal('passwd');
    expect(displayName('C:\\Users\\x\\report.pdf', 255)).to.equal('report.pdf');
    expect(displayName('photo.jpg', 255)).to.equal('photo.jpg');
  });

  it('when a name is empty, only dots, has control characters or is too long, then validation_failed', () => {
    for (const name of [undefined, '', '..', '../', 'a\u0000b', 'line\nbreak', 'x'.repeat(11)]) {
      expect(() => displayName(name, 10), JSON.stringify(name))
        .to.throw()
        .with.property('code', 'validation_failed');
    }
    expect(displayName('ü'.repeat(10), 10)).to.equal('ü'.repeat(10));
  });
});
