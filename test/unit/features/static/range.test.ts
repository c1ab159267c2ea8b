/** Range header parsing (src/features/static/range.ts, RFC 9110 §14). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRange, RANGE_UNSATISFIABLE } from '../../../../src/features/static/range.js';

const p = (h: string, size = 1000, max = 16) => parseRange(h, size, max);

describe('parseRange', () => {
  it('parses closed, open and suffix ranges', () => {
    assert.deepEqual(p('bytes=0-99'), [{ start: 0, end: 99 }]);
    assert.deepEqual(p('bytes=900-'), [{ start: 900, end: 999 }]);
    assert.deepEqual(p('bytes=-100'), [{ start: 900, end: 999 }]);
    assert.deepEqual(p('bytes=-5000'), [{ start: 0, end: 999 }]);
    assert.deepEqual(p('bytes=990-5000'), [{ start: 990, end: 999 }]);
    assert.deepEqual(p('bytes=0-0'), [{ start: 0, end: 0 }]);
  });

  it('accepts case-insensitive unit, whitespace and empty list elements', () => {
    assert.deepEqual(p('Bytes=0-1'), [{ start: 0, end: 1 }]);
    assert.deepEqual(p('bytes= 0-1 , , 5-6 '), [
      { start: 0, end: 1 },
      { start: 5, end: 6 },
    ]);
  });

  it('keeps the requested order for multiple ranges', () => {
    assert.deepEqual(p('bytes=500-599,0-9,-10'), [
      { start: 500, end: 599 },
      { start: 0, end: 9 },
      { start: 990, end: 999 },
    ]);
  });

  it('drops unsatisfiable members and reports 416 when none is left', () => {
    assert.deepEqual(p('bytes=0-9,2000-3000'), [{ start: 0, end: 9 }]);
    assert.equal(p('bytes=1000-'), RANGE_UNSATISFIABLE);
    assert.equal(p('bytes=5000-6000'), RANGE_UNSATISFIABLE);
    assert.equal(p('bytes=-0'), RANGE_UNSATISFIABLE);
    assert.equal(p('bytes=0-', 0), RANGE_UNSATISFIABLE);
    assert.equal(p('bytes=-5', 0), RANGE_UNSATISFIABLE);
  });

  it('ignores invalid fields (undefined: send 200)', () => {
    for (const h of [
      'items=0-1',
      'bytes',
      'bytes=',
      'bytes=a-b',
      'bytes=5-1',
      'bytes=1-2-3',
      'bytes=--1',
      'bytes=0x10-20',
      'bytes=1.5-2',
      'bytes=+1-2',
      'bytes=,',
    ]) {
      assert.equal(p(h), undefined, h);
    }
  });

  it('ignores abusive requests: too many ranges or overlap past the size', () => {
    assert.equal(
      p('bytes=' + Array.from({ length: 17 }, (_, i) => `${i}-${i}`).join(',')),
      undefined,
    );
    assert.equal(p('bytes=0-999,0-999'), undefined);
    assert.deepEqual(p('bytes=0-10,5-15'), [
      { start: 0, end: 10 },
      { start: 5, end: 15 },
    ]);
  });
});
