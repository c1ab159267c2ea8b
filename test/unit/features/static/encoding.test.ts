/** Accept-Encoding negotiation (src/features/static/encoding.ts, RFC 9110 §12.5.3). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ALL_CODINGS, negotiate, Negotiator } from '../../../../src/features/static/encoding.js';

const n = (h: string) => negotiate(h, ALL_CODINGS);

describe('negotiate', () => {
  it('prefers br, gzip, deflate on equal weights', () => {
    assert.deepEqual(n('gzip, deflate, br'), ['br', 'gzip', 'deflate']);
    assert.deepEqual(n('gzip, deflate, br, zstd'), ['br', 'gzip', 'deflate']);
    assert.deepEqual(n('deflate, gzip'), ['gzip', 'deflate']);
  });

  it('orders by q-value', () => {
    assert.deepEqual(n('br;q=0.5, gzip;q=0.8'), ['gzip', 'br']);
    assert.deepEqual(n('br;q=0.5, gzip;Q=0.8, deflate;q=1'), ['deflate', 'gzip', 'br']);
    assert.deepEqual(n('gzip ; q=0.3'), ['gzip']);
  });

  it('excludes q=0 and codings below identity', () => {
    assert.deepEqual(n('br;q=0, gzip'), ['gzip']);
    assert.deepEqual(n('gzip;q=0.5, identity'), []);
    assert.deepEqual(n('gzip;q=0.5, identity;q=0.5'), ['gzip']);
    assert.deepEqual(n('identity'), []);
    assert.deepEqual(n(''), []);
  });

  it('applies * to unlisted codings', () => {
    assert.deepEqual(n('*'), ['br', 'gzip', 'deflate']);
    assert.deepEqual(n('gzip;q=0, *'), ['br', 'deflate']);
    assert.deepEqual(n('*;q=0'), []);
    assert.deepEqual(n('*;q=0, gzip'), ['gzip']);
    assert.deepEqual(n('identity;q=0'), []);
    assert.deepEqual(n('identity;q=0, deflate;q=0.1'), ['deflate']);
  });

  it('treats x-gzip as gzip and names case-insensitively', () => {
    assert.deepEqual(n('x-gzip'), ['gzip']);
    assert.deepEqual(n('GZIP, BR'), ['br', 'gzip']);
  });

  it('treats malformed weights as 0', () => {
    assert.deepEqual(n('gzip;q=2'), []);
    assert.deepEqual(n('gzip;q=abc, br'), ['br']);
    assert.deepEqual(n('gzip;q=0.0001'), []);
    assert.deepEqual(n('gzip;q=1.000'), ['gzip']);
  });

  it('only offers enabled codings', () => {
    assert.deepEqual(negotiate('br, gzip', ['gzip']), ['gzip']);
  });
});

describe('Negotiator', () => {
  it('memoises per header and serves identity without the header', () => {
    const neg = new Negotiator(ALL_CODINGS);
    assert.deepEqual(neg.choose(undefined), []);
    const a = neg.choose('gzip, br');
    assert.equal(neg.choose('gzip, br'), a);
    assert.deepEqual(new Negotiator([]).choose('gzip'), []);
  });
});
