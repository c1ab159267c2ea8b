/** Cache-Control rules (src/features/static/cache-control.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  compileCacheControl,
  globToRegExp,
  IMMUTABLE,
} from '../../../../src/features/static/cache-control.js';

describe('globToRegExp', () => {
  it('anchors at the root with a leading slash', () => {
    const re = globToRegExp('/assets/**');
    assert.ok(re.test('/assets/a.js'));
    assert.ok(re.test('/assets/x/y/z.css'));
    assert.ok(!re.test('/other/assets/a.js'));
  });
  it('matches at any depth without one', () => {
    const re = globToRegExp('*.html');
    assert.ok(re.test('/index.html'));
    assert.ok(re.test('/a/b/c.html'));
    assert.ok(!re.test('/a.htmlx'));
  });
  it('handles * within a segment, ? and **/', () => {
    assert.ok(globToRegExp('/a/*.js').test('/a/x.js'));
    assert.ok(!globToRegExp('/a/*.js').test('/a/b/x.js'));
    assert.ok(globToRegExp('/a/**/x.js').test('/a/x.js'));
    assert.ok(globToRegExp('/a/**/x.js').test('/a/b/c/x.js'));
    assert.ok(globToRegExp('/v?.txt').test('/v1.txt'));
    assert.ok(!globToRegExp('/v?.txt').test('/v12.txt'));
    assert.ok(globToRegExp('/a+b(c).txt').test('/a+b(c).txt'));
  });
});

describe('compileCacheControl', () => {
  it('first matching rule wins; string for all; undefined for none', () => {
    const f = compileCacheControl([
      { match: /\.[0-9a-f]{8}\.(js|css)$/, value: IMMUTABLE },
      { match: '*.html', value: 'no-cache' },
      { match: '/**', value: 'public, max-age=60' },
    ]);
    assert.equal(f('/assets/app.0123abcd.js'), IMMUTABLE);
    assert.equal(f('/index.html'), 'no-cache');
    assert.equal(f('/logo.svg'), 'public, max-age=60');
    assert.equal(compileCacheControl('max-age=5')('/x'), 'max-age=5');
    assert.equal(compileCacheControl(undefined)('/x'), undefined);
    assert.equal(compileCacheControl([{ match: '/a', value: 'x' }])('/b'), undefined);
  });
});
