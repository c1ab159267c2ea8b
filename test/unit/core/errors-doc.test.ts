// docs/errors.md is generated from the catalog; this keeps the two from drifting apart
// (regenerate with `npm run docs:errors`).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { allErrors } from '../../../src/core/errors.js';
import { projectRoot } from '../../helpers/paths.js';

test('docs/errors.md is exactly what scripts/gen-errors-doc.js renders from the catalog', async () => {
  const mod = (await import(
    pathToFileURL(join(projectRoot, 'scripts', 'gen-errors-doc.js')).href
  )) as {
    renderErrorsDoc: () => Promise<string>;
  };
  const expected = await mod.renderErrorsDoc();
  const actual = readFileSync(join(projectRoot, 'docs', 'errors.md'), 'utf8');
  assert.equal(actual, expected, 'docs/errors.md is stale: run `npm run docs:errors`');
});

test('every catalog code is unique and well-formed', () => {
  const codes = allErrors().map((e) => e.code);
  assert.equal(new Set(codes).size, codes.length);
  for (const c of codes) assert.match(c, /^RAPID_ERR_[A-Z0-9_]+$/);
  for (const e of allErrors()) assert.ok(e.status >= 400 && e.status <= 599, e.code);
});
