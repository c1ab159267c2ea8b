/**
 * CPU time per request of the bench app's /plaintext with and without access rules, header
 * rules and a whole site set-up (bench/access-server.ts), under wrk (one command):
 *     flock /tmp/rapid-bench.lock npm run bench:access-e2e [-- --reps 5 --duration 4]
 * Each variant runs in its own server process pinned to core 0 (taskset), wrk on core 1
 * (-t1 -c64). Rounds go round-robin over the variants (interleaved A/B), and the result is the
 * median over rounds of the server's CPU µs per request (from /proc: utime + stime) — the number
 * that a busy shared machine disturbs least. Writes bench/results/<date>-access-e2e.md/.json.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  cpuTicks,
  CLK_TCK,
  freePort,
  probe,
  processTree,
  startPinned,
  stop,
  type Running,
} from './lib/proc.js';
import { findPackageRoot } from '../src/util/package-root.js';
import { median } from './lib/stats.js';
import { errorCount, runWrk } from './lib/wrk.js';

const { values } = parseArgs({
  options: {
    reps: { type: 'string', default: '5' },
    duration: { type: 'string', default: '4' },
    label: { type: 'string', default: 'access-e2e' },
  },
});
const reps = Math.max(1, Number(values.reps) | 0);
const duration = Math.max(1, Number(values.duration) | 0);
const root = findPackageRoot(import.meta.url);
const VARIANTS = ['plain', 'access', 'headers', 'site'];

async function up(port: number, r: Running): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (r.exited) throw new Error(`server exited: ${r.output()}`);
    try {
      const p = await probe('127.0.0.1', port, '/plaintext');
      if (p.status === 200) return;
    } catch {
      // not yet
    }
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`server did not come up: ${r.output()}`);
}

const servers: { variant: string; port: number; run: Running }[] = [];
try {
  for (const variant of VARIANTS) {
    const port = await freePort('127.0.0.1');
    const run = startPinned(
      '0',
      process.execPath,
      [join(root, 'dist', 'bench', 'access-server.js')],
      { VARIANT: variant, PORT: String(port) },
      root,
    );
    servers.push({ variant, port, run });
    await up(port, run);
  }
  const samples = new Map<string, { usPerReq: number[]; rps: number[]; errors: number }>();
  for (const v of VARIANTS) samples.set(v, { usPerReq: [], rps: [], errors: 0 });
  for (let round = 0; round <= reps; round++) {
    for (const s of servers) {
      const pids = processTree(s.run.pid);
      const before = cpuTicks(pids);
      const w = await runWrk(
        '1',
        [
          '-t1',
          '-c64',
          `-d${round === 0 ? 1 : duration}s`,
          '-s',
          'bench/wrk/report.lua',
          `http://127.0.0.1:${s.port}/plaintext`,
        ],
        root,
      );
      const ticks = cpuTicks(pids) - before;
      if (round === 0) continue; // warm-up
      const entry = samples.get(s.variant)!;
      entry.usPerReq.push((ticks / CLK_TCK / w.requests) * 1e6);
      entry.rps.push(w.reqPerSec);
      entry.errors += errorCount(w);
      console.log(
        `round ${round} ${s.variant}: ${w.reqPerSec.toFixed(0)} req/s, ${((ticks / CLK_TCK / w.requests) * 1e6).toFixed(2)} µs CPU/req`,
      );
    }
  }
  const base = median(samples.get('plain')!.usPerReq);
  const rows = VARIANTS.map((v) => {
    const s = samples.get(v)!;
    const us = median(s.usPerReq);
    return {
      variant: v,
      usPerReq: us,
      vsPlain: us / base - 1,
      reqPerSec: median(s.rps),
      errors: s.errors,
    };
  });
  const date = new Date().toISOString().slice(0, 10);
  const md = [
    `# Access and header rules under load (${date})`,
    '',
    `Node ${process.version}; \`flock /tmp/rapid-bench.lock npm run bench:access-e2e -- --reps ${reps} --duration ${duration}\``,
    '(bench/access-e2e.ts, servers bench/access-server.ts pinned to core 0, wrk -t1 -c64 on core 1, interleaved rounds, medians).',
    '',
    '| variant | server CPU µs/request (median) | vs plain (median of per-round ratios) | req/s (wall clock, noisy) | errors |',
    '| ------- | --------------------: | -------: | ------------------------: | -----: |',
    ...rows.map(
      (r) =>
        `| ${r.variant} | ${r.usPerReq.toFixed(2)} | ${r.variant === 'plain' ? '—' : `${(r.vsPlain * 100).toFixed(1)}%`} | ${r.reqPerSec.toFixed(0)} | ${r.errors} |`,
    ),
    '',
  ].join('\n');
  console.log(md);
  const out = join(root, 'bench', 'results', `${date}-${values.label}`);
  writeFileSync(`${out}.md`, md);
  writeFileSync(
    `${out}.json`,
    `${JSON.stringify({ node: process.version, reps, duration, rows, samples: Object.fromEntries(samples) }, null, 2)}\n`,
  );
  console.log(`wrote ${out}.md and .json`);
} finally {
  for (const s of servers) await stop(s.run);
}
