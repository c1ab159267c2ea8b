/**
 * The radix router against the shared contract, plus what is specific to this implementation.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createRouter, RadixRouter } from '../../../src/router/index.js';
import { runRouterContract } from './contract.js';

runRouterContract('radix', createRouter);

describe('radix router specifics', () => {
  it('is named for diagnostics and benchmarks', () => {
    assert.equal(createRouter().name, 'radix');
    assert.ok(createRouter() instanceof RadixRouter);
  });

  it('returns the same frozen result for every lookup of a route without parameters', () => {
    const r = createRouter<string>();
    r.add('GET', '/a/b', 'ab');
    const m = r.find('GET', '/a/b');
    assert.equal(r.find('GET', '/a/b'), m);
    assert.equal(r.find('HEAD', '/a/b'), m);
    assert.ok(Object.isFrozen(m));
  });

  it('returns a fresh params object per lookup of a parametric route', () => {
    const r = createRouter<string>();
    r.add('GET', '/u/:id', 'u');
    const a = r.find('GET', '/u/1');
    const b = r.find('GET', '/u/2');
    assert.ok(a.kind === 'found' && b.kind === 'found');
    assert.notEqual(a.params, b.params);
    assert.equal(a.params.id, '1');
    assert.equal(b.params.id, '2');
  });

  it('rejects bad options', () => {
    assert.throws(() => createRouter({ trailingSlash: 'maybe' as never }), {
      code: 'RAPID_ERR_INVALID_OPTION',
    });
    assert.throws(() => createRouter({ maxParamLength: 0 }), { code: 'RAPID_ERR_INVALID_OPTION' });
  });

  it('splits compressed static edges when routes diverge inside them', () => {
    const r = createRouter<string>();
    r.add('GET', '/abcdef/:x', 'long');
    r.add('GET', '/abc', 'short');
    r.add('GET', '/abXY', 'fork');
    r.add('GET', '/abcdef', 'exact');
    assert.equal(
      r.find('GET', '/abc').kind === 'found' && (r.find('GET', '/abc') as { store: string }).store,
      'short',
    );
    const l = r.find('GET', '/abcdef/1');
    assert.ok(l.kind === 'found' && l.store === 'long' && l.params.x === '1');
    const f = r.find('GET', '/abXY');
    assert.ok(f.kind === 'found' && f.store === 'fork');
    const e = r.find('GET', '/abcdef');
    assert.ok(e.kind === 'found' && e.store === 'exact');
    assert.equal(r.find('GET', '/ab').kind, 'not-found');
  });
});
