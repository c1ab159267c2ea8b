/**
 * Path patterns of access and header rules, and the canonical path they are matched against
 * (including the encodings someone would use to slip past a rule).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  canonicalPath,
  compilePattern,
  patternError,
} from '../../../../src/features/access/paths.js';

function matches(pattern: string, path: string, caseSensitive = true): boolean {
  const canonical = canonicalPath(path, caseSensitive);
  assert.notEqual(canonical, null, path);
  return compilePattern(pattern, caseSensitive).test(canonical as string);
}

describe('canonicalPath', () => {
  it('leaves plain paths alone, dropping a trailing slash', () => {
    assert.equal(canonicalPath('/', true), '/');
    assert.equal(canonicalPath('/a/b', true), '/a/b');
    assert.equal(canonicalPath('/a/b/', true), '/a/b');
    assert.equal(canonicalPath('/A/B', false), '/a/b');
  });

  it('decodes once, drops empty segments, splits at encoded slashes', () => {
    assert.equal(canonicalPath('/%61dmin', true), '/admin');
    assert.equal(canonicalPath('//admin///x', true), '/admin/x');
    assert.equal(canonicalPath('/x%2Fadmin', true), '/x/admin');
    assert.equal(canonicalPath('/%2fadmin', true), '/admin');
    assert.equal(canonicalPath('/%C3%BCber', true), '/über');
    // Double encoding stays encoded: %2561 is the three characters "%61".
    assert.equal(canonicalPath('/%2561dmin', true), '/%61dmin');
    assert.equal(canonicalPath('/.well-known/x', true), '/.well-known/x');
  });

  it('refuses dot segments, bad escapes, controls, backslashes and invalid UTF-8', () => {
    for (const bad of [
      '/a/../admin',
      '/./admin',
      '/%2e%2e/admin',
      '/a/%2E/b',
      '/a%2F..%2Fadmin',
      '/%zz',
      '/%4',
      '/%00',
      '/a%0d%0ab',
      '/a\\admin',
      '/%5cadmin',
      '/%ff',
      '/%c3',
    ]) {
      assert.equal(canonicalPath(bad, true), null, bad);
    }
  });
});

describe('compilePattern', () => {
  it('a plain path is a prefix at segment boundaries', () => {
    assert.equal(matches('/admin', '/admin'), true);
    assert.equal(matches('/admin', '/admin/'), true);
    assert.equal(matches('/admin', '/admin/x/y'), true);
    assert.equal(matches('/admin', '/administrator'), false);
    assert.equal(matches('/admin', '/'), false);
    assert.equal(matches('/admin/', '/admin'), true);
    assert.equal(matches('/', '/anything'), true);
  });

  it('"/admin/*" and "/admin/**" cover /admin itself and everything below', () => {
    for (const p of ['/admin/*', '/admin/**']) {
      assert.equal(matches(p, '/admin'), true, p);
      assert.equal(matches(p, '/admin/'), true, p);
      assert.equal(matches(p, '/admin/a/b/c'), true, p);
      assert.equal(matches(p, '/adminx'), false, p);
    }
  });

  it('globs: * within a segment, ** across, ? one character', () => {
    assert.equal(matches('/files/*.pdf', '/files/a.pdf'), true);
    assert.equal(matches('/files/*.pdf', '/files/sub/a.pdf'), false);
    assert.equal(matches('/files/**/*.pdf', '/files/sub/deep/a.pdf'), true);
    assert.equal(matches('/files/**/*.pdf', '/files/a.pdf'), true);
    assert.equal(matches('/v?/api', '/v1/api'), true);
    assert.equal(matches('/v?/api', '/v10/api'), false);
    assert.equal(matches('/u/*/private', '/u/alice/private/x'), true);
    assert.equal(matches('/u/*/private', '/u/alice/public'), false);
  });

  it('a glob without a leading "/" matches at any depth, including path info below it', () => {
    assert.equal(matches('*.php', '/index.php'), true);
    assert.equal(matches('*.php', '/a/b/c.php'), true);
    assert.equal(matches('*.php', '/x.php/extra/info'), true);
    assert.equal(matches('*.php', '/x.phps'), false);
    assert.equal(matches('*.php', '/php'), false);
    assert.equal(matches('.git', '/repo/.git/config'), true);
    assert.equal(matches('.git', '/repo/.github'), false);
  });

  it('encoded forms cannot slip past a rule', () => {
    assert.equal(matches('/admin', '/%61dmin/x'), true);
    assert.equal(matches('/admin', '//admin'), true);
    assert.equal(matches('*.php', '/x.ph%70'), true);
    assert.equal(matches('/admin', '/ADMIN', false), true);
    assert.equal(matches('/Admin', '/admin', false), true);
    assert.equal(matches('/admin', '/ADMIN', true), false);
  });

  it('special characters in patterns are literal', () => {
    assert.equal(matches('/a+b(c)', '/a+b(c)'), true);
    assert.equal(matches('/a.b', '/aXb'), false);
    assert.equal(matches('/ü', '/%C3%BC/x'), true);
  });

  it('patternError refuses what could never match', () => {
    assert.equal(patternError('/ok/*'), null);
    assert.notEqual(patternError(''), null);
    assert.notEqual(patternError(3), null);
    assert.notEqual(patternError('/a b'), null);
    assert.notEqual(patternError('/a%20b'), null);
    assert.notEqual(patternError('/a/../b'), null);
    assert.notEqual(patternError('/a#b'), null);
  });
});
