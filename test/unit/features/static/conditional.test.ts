/** Validators and preconditions (src/features/static/conditional.ts, RFC 9110 §13). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  evaluateConditions,
  ifRangeAllows,
  makeEtag,
  matchesEtag,
  parseHttpDate,
  type Conditions,
} from '../../../../src/features/static/conditional.js';

const none: Conditions = {
  ifMatch: undefined,
  ifNoneMatch: undefined,
  ifModifiedSince: undefined,
  ifUnmodifiedSince: undefined,
};
const T = Date.UTC(1994, 10, 6, 8, 49, 37);
const D = 'Sun, 06 Nov 1994 08:49:37 GMT';

describe('makeEtag', () => {
  it('is "<mtime µs hex>-<size hex>[suffix]"', () => {
    assert.equal(makeEtag(255, 1000.5), '"f4434-ff"');
    assert.equal(makeEtag(0, 0, '-br'), '"0-0-br"');
  });
});

describe('parseHttpDate', () => {
  it('parses the three formats of §5.6.7', () => {
    assert.equal(parseHttpDate(D), T);
    assert.equal(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT'), T);
    assert.equal(parseHttpDate('Sun Nov  6 08:49:37 1994'), T);
  });
  it('rejects anything else', () => {
    for (const s of [
      '',
      '1',
      'yesterday',
      'Sun, 06 Nov 1994 08:49:37 UTC',
      'Sun, 06 Foo 1994 08:49:37 GMT',
      'Sun, 06 Nov 1994 25:49:37 GMT',
    ]) {
      assert.ok(Number.isNaN(parseHttpDate(s)), s);
    }
  });
});

describe('matchesEtag', () => {
  it('compares weakly or strongly', () => {
    assert.ok(matchesEtag('"a"', '"a"', true));
    assert.ok(matchesEtag('W/"a"', '"a"', true));
    assert.ok(!matchesEtag('W/"a"', '"a"', false));
    assert.ok(matchesEtag('"x", "a"', '"a"', false));
    assert.ok(matchesEtag('"x",W/"y" ,  "a"', '"a"', true));
    assert.ok(matchesEtag('*', '"a"', false));
    assert.ok(!matchesEtag('"ab"', '"a"', true));
    assert.ok(!matchesEtag('"a', '"a"', true));
    assert.ok(!matchesEtag('junk, "b"', '"a"', true));
  });
});

describe('evaluateConditions (§13.2.2 order)', () => {
  const etag = '"e"';
  it('proceeds without conditions', () => {
    assert.equal(evaluateConditions(none, etag, T), 0);
  });
  it('If-Match: 412 unless a strong match', () => {
    assert.equal(evaluateConditions({ ...none, ifMatch: '"x"' }, etag, T), 412);
    assert.equal(evaluateConditions({ ...none, ifMatch: 'W/"e"' }, etag, T), 412);
    assert.equal(evaluateConditions({ ...none, ifMatch: '"e"' }, etag, T), 0);
    assert.equal(evaluateConditions({ ...none, ifMatch: '*' }, etag, T), 0);
  });
  it('If-Unmodified-Since only without If-Match', () => {
    assert.equal(
      evaluateConditions({ ...none, ifUnmodifiedSince: 'Sun, 06 Nov 1994 08:49:36 GMT' }, etag, T),
      412,
    );
    assert.equal(evaluateConditions({ ...none, ifUnmodifiedSince: D }, etag, T), 0);
    assert.equal(
      evaluateConditions(
        { ...none, ifMatch: '"e"', ifUnmodifiedSince: 'Sun, 06 Nov 1994 08:49:36 GMT' },
        etag,
        T,
      ),
      0,
    );
    assert.equal(evaluateConditions({ ...none, ifUnmodifiedSince: 'garbage' }, etag, T), 0);
  });
  it('If-None-Match: 304 on a weak match', () => {
    assert.equal(evaluateConditions({ ...none, ifNoneMatch: 'W/"e"' }, etag, T), 304);
    assert.equal(evaluateConditions({ ...none, ifNoneMatch: '*' }, etag, T), 304);
    assert.equal(evaluateConditions({ ...none, ifNoneMatch: '"x"' }, etag, T), 0);
  });
  it('If-Modified-Since only without If-None-Match', () => {
    assert.equal(evaluateConditions({ ...none, ifModifiedSince: D }, etag, T), 304);
    assert.equal(
      evaluateConditions({ ...none, ifModifiedSince: 'Sun, 06 Nov 1994 08:49:36 GMT' }, etag, T),
      0,
    );
    assert.equal(
      evaluateConditions({ ...none, ifNoneMatch: '"x"', ifModifiedSince: D }, etag, T),
      0,
    );
    assert.equal(evaluateConditions({ ...none, ifModifiedSince: 'nope' }, etag, T), 0);
  });
  it('412 from If-Match wins over If-None-Match', () => {
    assert.equal(evaluateConditions({ ...none, ifMatch: '"x"', ifNoneMatch: '"e"' }, etag, T), 412);
  });
});

describe('ifRangeAllows', () => {
  it('needs a strong ETag match or the exact, strong Last-Modified', () => {
    const now = T + 10_000;
    assert.ok(ifRangeAllows('"e"', '"e"', T, now));
    assert.ok(!ifRangeAllows('W/"e"', '"e"', T, now));
    assert.ok(!ifRangeAllows('"x"', '"e"', T, now));
    assert.ok(ifRangeAllows(D, '"e"', T, now));
    assert.ok(!ifRangeAllows('Sun, 06 Nov 1994 08:49:38 GMT', '"e"', T, now));
    // Modified within the last second: the date is weak, so no range.
    assert.ok(!ifRangeAllows(D, '"e"', T, T + 500));
    assert.ok(!ifRangeAllows('junk', '"e"', T, now));
  });
});
