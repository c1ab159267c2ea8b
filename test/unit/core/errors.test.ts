// The error catalog and docs/errors.md list the same codes: every code in src/core/errors.ts
// appears in the doc and every RAPID_ERR_* code the doc mentions exists in the catalog. Codes are
// unique and well-formed, and each maps to an HTTP error status.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { E, RapidError, allErrors } from '../../../src/core/errors.js';
import { projectRoot } from '../../helpers/paths.js';

const doc = readFileSync(join(projectRoot, 'docs', 'errors.md'), 'utf8');
const docCodes = new Set(doc.match(/RAPID_ERR_[A-Z0-9_]+/g) ?? []);
const codes = allErrors().map((e) => e.code);

test('every catalog code is documented in docs/errors.md', () => {
  const missing = codes.filter((c) => !docCodes.has(c));
  assert.deepEqual(missing, [], `missing from docs/errors.md: ${missing.join(', ')}`);
});

test('every code docs/errors.md mentions exists in the catalog', () => {
  const catalog = new Set(codes);
  const unknown = [...docCodes].filter((c) => !catalog.has(c));
  assert.deepEqual(unknown, [], `documented but not in src/core/errors.ts: ${unknown.join(', ')}`);
});

test('each code is documented once, with its status', () => {
  for (const e of allErrors()) {
    const rows = doc.split('\n').filter((line) => line.includes(`\`${e.code}\``));
    assert.equal(rows.length, 1, `${e.code} rows`);
    assert.match(rows[0]!, new RegExp(`\\|\\s*${e.status}\\s*\\|`), `${e.code} status`);
  }
});

test('codes are unique, well-formed, and named after their key', () => {
  assert.equal(new Set(codes).size, codes.length, 'duplicate codes');
  for (const [key, spec] of Object.entries(E)) {
    assert.match(spec.code, /^RAPID_ERR_[A-Z0-9_]+$/);
    assert.equal(spec.code, `RAPID_ERR_${key}`);
    assert.ok(spec.status >= 400 && spec.status <= 599, `${spec.code} status ${spec.status}`);
    assert.ok(spec.message.length > 0);
    assert.ok(Object.isFrozen(spec));
  }
});

test('RapidError carries code, status and expose (4xx only)', () => {
  const e4 = new RapidError(E.HTTP1_BODY_TOO_LARGE, 'detail');
  assert.equal(e4.code, 'RAPID_ERR_HTTP1_BODY_TOO_LARGE');
  assert.equal(e4.statusCode, 413);
  assert.equal(e4.expose, true);
  assert.match(e4.message, /: detail$/);
  assert.ok(e4 instanceof RapidError);
  assert.ok(e4 instanceof Error);
  const e5 = new RapidError(E.RESPONSE_TIMEOUT);
  assert.equal(e5.expose, false);
  assert.ok(!(new Error('x') instanceof RapidError));
});
