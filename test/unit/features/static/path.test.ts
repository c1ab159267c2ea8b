/** Request path decoding and the root fence (src/features/static/path.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodePath,
  isInside,
  PathError,
  resolveInside,
} from '../../../../src/features/static/path.js';

const allow = new Set(['.well-known']);

describe('decodePath', () => {
  it('splits and decodes once', () => {
    assert.deepEqual(decodePath('/a/b%20c/d.txt', allow), {
      segments: ['a', 'b c', 'd.txt'],
      trailingSlash: false,
    });
    assert.deepEqual(decodePath('/', allow), { segments: [], trailingSlash: false });
    assert.deepEqual(decodePath('/dir/', allow), { segments: ['dir'], trailingSlash: true });
    assert.deepEqual(decodePath('//a//b', allow), { segments: ['a', 'b'], trailingSlash: false });
  });

  it('decodes UTF-8 escapes and raw latin1 octets of UTF-8', () => {
    assert.deepEqual(decodePath('/caf%C3%A9', allow), { segments: ['café'], trailingSlash: false });
    // The engine hands the target over as latin1: "Ã©" is the two octets of "é".
    assert.deepEqual(decodePath('/caf\u00c3\u00a9', allow), {
      segments: ['café'],
      trailingSlash: false,
    });
  });

  it('keeps double encoding literal', () => {
    assert.deepEqual(decodePath('/%252e%252e/x', allow), {
      segments: ['%2e%2e', 'x'],
      trailingSlash: false,
    });
  });

  for (const bad of [
    '/../etc/passwd',
    '/a/../../b',
    '/..',
    '/./a',
    '/a/.',
    '/%2e%2e/x',
    '/%2E%2e/x',
    '/.%2e/x',
    '/a\\..\\b',
    '/a%5c..%5cb',
    '/a%5Cb',
    '/a%00b',
    '/a\u0000b',
    '/a%0Ab',
    '/a%7f',
    '/%',
    '/%2',
    '/%zz',
    '/%C3',
    '/%C3%28',
    '/%FF',
    'relative',
    '*',
    '',
  ]) {
    it(`refuses ${JSON.stringify(bad)} with Bad`, () => {
      assert.equal(decodePath(bad, allow), PathError.Bad);
    });
  }

  it('refuses an encoded slash as EncodedSlash', () => {
    assert.equal(decodePath('/a%2fb', allow), PathError.EncodedSlash);
    assert.equal(decodePath('/..%2F..%2Fetc', allow), PathError.EncodedSlash);
  });

  it('reports dotfiles unless allowed, after checking the whole path', () => {
    assert.equal(decodePath('/.env', allow), PathError.Dotfile);
    assert.equal(decodePath('/a/.git/config', allow), PathError.Dotfile);
    assert.equal(decodePath('/%2egit', allow), PathError.Dotfile);
    assert.equal(decodePath('/.git/%zz', allow), PathError.Bad);
    assert.deepEqual(decodePath('/.well-known/x', allow), {
      segments: ['.well-known', 'x'],
      trailingSlash: false,
    });
    assert.deepEqual(decodePath('/.env', null), { segments: ['.env'], trailingSlash: false });
    // ".." is never a dotfile: always refused.
    assert.equal(decodePath('/..', null), PathError.Bad);
  });
});

describe('resolveInside / isInside', () => {
  it('keeps results under the root', () => {
    assert.equal(resolveInside('/srv/www', ['a', 'b']), '/srv/www/a/b');
    assert.equal(resolveInside('/srv/www', []), '/srv/www');
    assert.equal(resolveInside('/srv/www', ['..', 'x']), undefined);
    assert.equal(resolveInside('/srv/www', ['/etc/passwd']), undefined);
    assert.equal(resolveInside('/', ['etc']), '/etc');
  });

  it('matches whole segments only', () => {
    assert.equal(isInside('/srv/www', '/srv/www2/x'), false);
    assert.equal(isInside('/srv/www', '/srv/www/x'), true);
    assert.equal(isInside('/srv/www', '/srv/www'), true);
    assert.equal(isInside('/srv/www', '/srv'), false);
  });
});
