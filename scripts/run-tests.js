#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js) with node:test. The type check (tsc)
// compiles test/ to dist/test/ first; `npm test` runs tsc, the linter, then this script.
// Usage: node scripts/run-tests.js [filter...]  (filters match against the file path)
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const dir = join(root, 'dist', 'test');
const files = [];
const walk = (d) => {
  for (const name of readdirSync(d)) {
    const p = join(d, name);
    if (statSync(p).isDirectory()) walk(p);
    else if (name.endsWith('.test.js')) files.push(p);
  }
};
try {
  walk(dir);
} catch {
  console.error('No compiled tests under dist/test: run `npm run build` first.');
  process.exit(1);
}
const filters = process.argv.slice(2);
const chosen = files
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (chosen.length === 0) {
  console.error('No test files matched.');
  process.exit(1);
}
console.log(
  `Running ${chosen.length} test files: ${chosen.map((f) => relative(dir, f)).join(' ')}`,
);
const r = spawnSync(
  process.execPath,
  ['--test', '--test-concurrency=4', '--test-reporter=spec', ...chosen],
  { stdio: 'inherit', cwd: root },
);
process.exit(r.status ?? 1);
