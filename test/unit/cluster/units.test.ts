/** Pure parts of the cluster, log and metrics code: limits parsing, options, escaping, sums. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  nofileLimit,
  nofileWarning,
  parseLimits,
  resolveWorkers,
} from '../../../src/cluster/index.js';
import { clfEscape, clfTimestamp } from '../../../src/features/log/index.js';
import { sumSnapshots, totalRequests, Metrics } from '../../../src/features/metrics/index.js';
import { addressMatcher } from '../../../src/features/metrics/status.js';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            1024                 524288               files
`;

describe('open-file limit', () => {
  it('parses /proc/self/limits and warns when low', () => {
    assert.deepEqual(parseLimits(LIMITS), { soft: 1024, hard: 524288 });
    assert.match(
      nofileWarning({ soft: 1024, hard: 524288 })!,
      /open-file limit is 1024.*hard limit 524288/,
    );
    assert.equal(nofileWarning({ soft: 65536, hard: 65536 }), null);
    assert.equal(nofileWarning({ soft: 'unlimited', hard: 'unlimited' }), null);
    assert.equal(parseLimits('nothing'), null);
    if (process.platform === 'linux') assert.notEqual(nofileLimit(), null);
  });
});

describe('workers option', () => {
  it('auto is the CPU count; numbers 1-1024; anything else a catalog error', () => {
    assert.ok(resolveWorkers('auto') >= 1);
    assert.equal(resolveWorkers(3), 3);
    assert.equal(resolveWorkers('4'), 4);
    for (const bad of [0, -1, 1.5, 'x', '2x', 5000]) {
      assert.throws(() => resolveWorkers(bad as number), {
        code: 'RAPID_ERR_CLUSTER_INVALID_OPTION',
      });
    }
  });
});

describe('access log pieces', () => {
  it('escapes quotes, backslashes and control bytes like Apache', () => {
    assert.equal(clfEscape('plain /a?b=1'), 'plain /a?b=1');
    assert.equal(clfEscape('a"b\\c\x01\xff'), 'a\\"b\\\\c\\x01\\xff');
  });
  it('formats the CLF timestamp', () => {
    assert.match(
      clfTimestamp(Date.UTC(2026, 11, 1, 8, 30, 0)),
      /^\[\d\d\/Dec\/2026:\d\d:\d\d:00 [+-]\d{4}\]$/,
    );
  });
});

describe('metrics', () => {
  it('counts by class, sums snapshots, and allows addresses by CIDR', () => {
    const a = new Metrics();
    const b = new Metrics();
    a.observe(null, 200, 100, 50, performance.now(), '127.0.0.1', 1);
    a.observe(null, 404, 100, 50, performance.now(), '127.0.0.1', 2);
    b.observe(null, 503, 10, 5, 0, '127.0.0.1', 1);
    const s = sumSnapshots([a.snapshot(), b.snapshot()]);
    assert.deepEqual(s.requests['_'], [0, 1, 0, 1, 1]);
    assert.equal(totalRequests(s), 3);
    assert.equal(s.bytesOut, 210);
    assert.equal(s.reusedRequests, 1);
    assert.equal(s.latencyCount, 2);
    const allow = addressMatcher(['127.0.0.1', '10.0.0.0/8', '::1']);
    assert.ok(allow('127.0.0.1'));
    assert.ok(allow('::ffff:10.1.2.3'));
    assert.ok(allow('::1'));
    assert.ok(!allow('192.168.1.1'));
    assert.ok(addressMatcher(['all'])('8.8.8.8'));
    assert.throws(() => addressMatcher(['10.0.0.0/99']), {
      code: 'RAPID_ERR_METRICS_INVALID_OPTION',
    });
  });
});
