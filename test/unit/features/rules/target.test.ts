/**
 * Redirect and rewrite targets: captures, query handling, encoding, and the checks that keep a
 * request path from choosing another origin.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  compileFrom,
  compileTo,
  type CompiledFrom,
  type CompiledTo,
} from '../../../../src/features/rules/target.js';

function rule(
  from: string,
  to: string,
  absolute = true,
  ignoreCase = false,
): (path: string, search?: string) => string | null {
  const f = compileFrom(from, ignoreCase);
  assert.notEqual(typeof f, 'string', String(f));
  const t = compileTo(to, f as CompiledFrom, absolute);
  assert.notEqual(typeof t, 'string', String(t));
  return (path, search = '') => {
    const m = (f as CompiledFrom).match(path);
    return m === null ? null : (t as CompiledTo).build(m, search);
  };
}

describe('redirect/rewrite targets', () => {
  it('regular expressions with numbered and named captures', () => {
    const r = rule('^/old/(.*)$', '/new/$1');
    assert.equal(r('/old/a/b'), '/new/a/b');
    assert.equal(r('/older'), null);
    const n = rule('^/u/(?<name>[^/]+)/(\\d+)$', '/users/$<name>?id=$2&all=$0');
    assert.equal(n('/u/bob/7'), '/users/bob?id=7&all=/u/bob/7');
    assert.equal(rule('^/p$', '/cost$$5')('/p'), '/cost$5');
  });

  it('exact paths, written decoded or encoded', () => {
    assert.equal(rule('/über', '/x')('/%C3%BCber'), '/x');
    assert.equal(rule('/a%20b', '/x')('/a%20b'), '/x');
    assert.equal(rule('/a', '/x')('/a/'), null);
    assert.equal(rule('/A', '/x', true, true)('/a'), '/x');
  });

  it('the query is kept, replaced, or dropped with a trailing "?"', () => {
    assert.equal(rule('/a', '/b')('/a', '?x=1'), '/b?x=1');
    assert.equal(rule('/a', '/b?y=2')('/a', '?x=1'), '/b?y=2');
    assert.equal(rule('/a', '/b?')('/a', '?x=1'), '/b');
    assert.equal(rule('/a', '/b#top')('/a', '?x=1'), '/b?x=1#top');
    assert.equal(rule('/a', 'https://e.example/b')('/a', '?x=1'), 'https://e.example/b?x=1');
  });

  it('captures keep their encoding; configured text is encoded', () => {
    assert.equal(rule('^/o/(.*)$', '/n/$1')('/o/a%20b%2Fc'), '/n/a%20b%2Fc');
    assert.equal(rule('/a', '/zür ich'.replace(' ', '%20'))('/a'), '/z%C3%BCr%20ich');
  });

  it('a capture cannot make a path target point at another origin', () => {
    const r = rule('^/go(.*)$', '/$1');
    assert.equal(r('/go/evil.example'), '/evil.example');
    assert.equal(r('/go//evil.example'), '/evil.example');
    assert.equal(r('/go/\\evil.example'), '/evil.example');
    assert.equal(rule('^/x(.*)$', '/a$1')('/x\\b'), '/a%5Cb');
  });

  it('captures in the host of an absolute target are encoded as one component', () => {
    const r = rule('^/s/([^/]+)/(.*)$', 'https://$1.example.com/$2');
    assert.equal(r('/s/shop/cart'), 'https://shop.example.com/cart');
    assert.equal(r('/s/evil.com@x/y'), 'https://evil.com%40x.example.com/y');
    // Everything before the first "/" of the template is the authority, captures included.
    const glued = rule('^/s/([^/]+)(.*)$', 'https://$1.example.com$2');
    assert.equal(glued('/s/shop/cart'), 'https://shop.example.com%2Fcart');
    const p = rule('^/(.*)$', 'https://example.com/$1');
    assert.equal(p('/a@b/c'), 'https://example.com/a@b/c');
  });

  it('refuses bad rules', () => {
    const from = compileFrom('^/(a)$', false) as CompiledFrom;
    assert.match(String(compileFrom('', false)), /non-empty/);
    assert.match(String(compileFrom('^/(', false)), /not a valid regular expression/);
    assert.match(String(compileFrom('old', false)), /must be a path/);
    assert.match(String(compileFrom('/a?b', false)), /must not contain/);
    assert.match(String(compileTo('/x/$2', from, true)), /has 1 group/);
    assert.match(String(compileTo('/x/$<n>', from, true)), /not a named group/);
    assert.match(String(compileTo('/x/$a', from, true)), /\$\$/);
    assert.match(String(compileTo('x', from, true)), /must be a path/);
    assert.match(String(compileTo('ftp://h/x', from, true)), /http/);
    assert.match(String(compileTo('https://h/x', from, false)), /internal rewrite/);
    assert.match(String(compileTo('/x#y', from, false)), /fragment/);
    assert.match(String(compileTo('/a b', from, true)), /whitespace/);
  });
});
