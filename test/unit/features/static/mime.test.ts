/** Media types (src/features/static/mime.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  describeType,
  lookupExtension,
  MimeResolver,
} from '../../../../src/features/static/mime.js';

describe('mime-db lookups', () => {
  it('maps common extensions', () => {
    const expect: Record<string, string> = {
      html: 'text/html',
      css: 'text/css',
      js: 'text/javascript',
      mjs: 'text/javascript',
      json: 'application/json',
      svg: 'image/svg+xml',
      png: 'image/png',
      jpg: 'image/jpeg',
      webp: 'image/webp',
      avif: 'image/avif',
      wasm: 'application/wasm',
      woff2: 'font/woff2',
      txt: 'text/plain',
      xml: 'application/xml',
      mp4: 'video/mp4',
      pdf: 'application/pdf',
      ico: 'image/vnd.microsoft.icon',
    };
    for (const [ext, type] of Object.entries(expect)) assert.equal(lookupExtension(ext), type, ext);
  });

  it('adds charset=utf-8 to text types and knows compressibility', () => {
    assert.deepEqual(describeType('text/html'), {
      contentType: 'text/html; charset=utf-8',
      compressible: true,
    });
    assert.deepEqual(describeType('application/json'), {
      contentType: 'application/json; charset=utf-8',
      compressible: true,
    });
    assert.deepEqual(describeType('image/png'), { contentType: 'image/png', compressible: false });
    assert.deepEqual(describeType('image/svg+xml'), {
      contentType: 'image/svg+xml',
      compressible: true,
    });
    assert.deepEqual(describeType('image/svg+xml', 'svgz'), {
      contentType: 'image/svg+xml',
      compressible: false,
    });
    assert.equal(describeType('application/octet-stream').compressible, false);
    assert.equal(describeType('text/x-unknown-thing').compressible, true);
    assert.equal(describeType('application/vnd.foo+json').compressible, true);
    // An explicit charset is kept.
    assert.equal(
      describeType('text/plain; charset=latin1').contentType,
      'text/plain; charset=latin1',
    );
  });
});

describe('MimeResolver', () => {
  it('uses overrides, then mime-db, then the default', () => {
    const m = new MimeResolver(
      { md: 'text/markdown', '.JS': 'application/x-custom' },
      'application/octet-stream',
    );
    assert.equal(m.forName('/a/README.md').contentType, 'text/markdown; charset=utf-8');
    assert.equal(m.forName('app.js').contentType, 'application/x-custom');
    assert.equal(m.forName('INDEX.HTML').contentType, 'text/html; charset=utf-8');
    assert.equal(m.forName('Makefile').contentType, 'application/octet-stream');
    assert.equal(m.forName('.bashrc').contentType, 'application/octet-stream');
    assert.equal(m.forName('x.').contentType, 'application/octet-stream');
    assert.equal(m.forName('a.nosuchext').contentType, 'application/octet-stream');
  });

  it("compresses the given types and families instead of mime-db's flag", () => {
    const m = new MimeResolver({}, 'application/octet-stream', ['text/*', 'image/png']);
    assert.equal(m.forName('a.css').compressible, true);
    assert.equal(m.forName('a.png').compressible, true, 'listed although mime-db says no');
    assert.equal(m.forName('a.json').compressible, false, 'not listed although mime-db says yes');
    assert.equal(m.forName('a.svgz').compressible, false, 'already compressed formats never');
    assert.equal(m.forName('a.css').contentType, 'text/css; charset=utf-8');
    const all = new MimeResolver({}, 'application/octet-stream', ['*/*']);
    assert.equal(all.forName('a.png').compressible, true);
    assert.equal(all.forName('a.gz').compressible, false);
  });
});
