/**
 * Micro-benchmarks of Rapid's hot helpers: `npm run bench:micro [-- --filter parser --json out]`.
 * Pin it for steadier numbers: `taskset -c 0 node dist/bench/micro/run.js`.
 *   --filter <text>   only cases whose "suite/case" contains text
 *   --runs 7 --run-ms 100 --warmup-ms 200
 *   --json <file>     also write the results as JSON (bench/micro/compare.ts reads them)
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { DEFAULT_HARNESS, formatResults, type CaseResult, type Suite } from './harness.js';

const { values } = parseArgs({
  options: {
    filter: { type: 'string', default: '' },
    runs: { type: 'string', default: String(DEFAULT_HARNESS.runs) },
    'run-ms': { type: 'string', default: String(DEFAULT_HARNESS.runMs) },
    'warmup-ms': { type: 'string', default: String(DEFAULT_HARNESS.warmupMs) },
    json: { type: 'string' },
  },
});

const opts = {
  filter: values.filter!,
  runs: Math.max(1, Number(values.runs) | 0),
  runMs: Math.max(1, Number(values['run-ms'])),
  warmupMs: Math.max(0, Number(values['warmup-ms'])),
};

// Loaded one by one, so a suite's module-level setup runs only when it is benchmarked.
const modules = [
  './parser.bench.js',
  './head.bench.js',
  './date.bench.js',
  './router.bench.js',
  './h2.bench.js',
  './log.bench.js',
];
const results: CaseResult[] = [];
for (const m of modules) {
  const { suite } = (await import(m)) as { suite: Suite };
  results.push(...suite.run(opts));
}
console.log(`Node ${process.version}, ${opts.runs} runs of ~${opts.runMs} ms per case, median`);
console.log(formatResults(results));
if (values.json !== undefined) {
  writeFileSync(values.json, `${JSON.stringify({ node: process.version, results }, null, 2)}\n`);
}
