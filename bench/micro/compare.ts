/**
 * Compare the micro-benchmarks of two revisions and flag regressions:
 *     npm run bench:compare -- <base-rev> [<head-rev>]      (head defaults to the working tree)
 *   --threshold 5   percent slower that counts as a regression (exit code 1)
 *   --rounds 3      base and head are run alternately this many times; each case keeps its best
 *                   median (noise on a shared machine only ever adds time)
 *   --filter <text> --cpu 0
 * Both sides run the CURRENT bench/micro code against their own src/ (taken with `git archive`,
 * so the work tree and .git are not touched), compiled with this checkout's TypeScript.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { findPackageRoot } from '../../src/util/package-root.js';
import { formatNs, type CaseResult } from './harness.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    threshold: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    filter: { type: 'string', default: '' },
    cpu: { type: 'string', default: '0' },
  },
});

const base = positionals[0];
const head = positionals[1] ?? 'WORKTREE';
if (base === undefined) {
  console.error('usage: node dist/bench/micro/compare.js <base-rev> [<head-rev>] [--threshold 5]');
  process.exit(2);
}
const threshold = Number(values.threshold);
const rounds = Math.max(1, Number(values.rounds) | 0);
const root = findPackageRoot(import.meta.url);
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

/** Build one side in a temp dir; returns the path of its compiled run.js. */
function prepare(rev: string): { dir: string; runner: string; label: string } {
  const label =
    rev === 'WORKTREE'
      ? 'working tree'
      : execFileSync('git', ['-C', root, 'rev-parse', '--short', rev], { encoding: 'utf8' }).trim();
  const dir = mkdtempSync(join(os.tmpdir(), 'rapid-micro-'));
  if (rev === 'WORKTREE') {
    cpSync(join(root, 'src'), join(dir, 'src'), { recursive: true });
  } else {
    const tar = execFileSync('git', ['-C', root, 'archive', '--format=tar', rev, 'src'], {
      maxBuffer: 256 * 1024 * 1024,
    });
    execFileSync('tar', ['-x', '-C', dir], { input: tar });
  }
  cpSync(join(root, 'bench', 'micro'), join(dir, 'bench', 'micro'), { recursive: true });
  cpSync(join(root, 'bench', 'lib'), join(dir, 'bench', 'lib'), { recursive: true });
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  writeFileSync(
    join(dir, 'package.json'),
    '{ "name": "rapid", "private": true, "type": "module" }\n',
  );
  const rootConfig = JSON.parse(readFileSync(join(root, 'tsconfig.json'), 'utf8')) as {
    compilerOptions: Record<string, unknown>;
  };
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        ...rootConfig.compilerOptions,
        outDir: 'dist',
        rootDir: '.',
        incremental: false,
        declaration: false,
        sourceMap: false,
        noUnusedLocals: false,
        noUnusedParameters: false,
      },
      include: ['src/**/*.ts', 'bench/micro/**/*.ts', 'bench/lib/**/*.ts'],
    }),
  );
  // Type errors (an old revision with a different API) are printed but do not stop the emit;
  // a case whose code no longer fits fails at run time and is reported as missing.
  const r = spawnSync(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], {
    encoding: 'utf8',
  });
  if (r.status !== 0) {
    console.error(`[compare] type errors building ${label} (continuing):\n${r.stdout}${r.stderr}`);
  }
  return { dir, runner: join(dir, 'dist', 'bench', 'micro', 'run.js'), label };
}

function runOnce(runner: string, out: string): CaseResult[] {
  const args = ['-c', values.cpu!, process.execPath, runner, '--json', out];
  if (values.filter !== '') args.push('--filter', values.filter!);
  const r = spawnSync('taskset', args, { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`micro-benchmarks failed in ${runner}`);
  return (JSON.parse(readFileSync(out, 'utf8')) as { results: CaseResult[] }).results;
}

const sides = [prepare(base), prepare(head)];
const best = sides.map(() => new Map<string, number>());
try {
  for (let round = 0; round < rounds; round++) {
    sides.forEach((side, i) => {
      console.error(`[compare] round ${round + 1}/${rounds}: ${side.label}`);
      for (const c of runOnce(side.runner, join(side.dir, 'out.json'))) {
        const key = `${c.suite} / ${c.name}`;
        const prev = best[i]!.get(key);
        if (prev === undefined || c.ns < prev) best[i]!.set(key, c.ns);
      }
    });
  }
} finally {
  for (const s of sides) rmSync(s.dir, { recursive: true, force: true });
}

const keys = [...new Set([...best[0]!.keys(), ...best[1]!.keys()])];
let regressions = 0;
const rows = [['case', sides[0]!.label, sides[1]!.label, 'change', '']];
for (const k of keys) {
  const a = best[0]!.get(k);
  const b = best[1]!.get(k);
  if (a === undefined || b === undefined) {
    rows.push([
      k,
      a === undefined ? '—' : formatNs(a),
      b === undefined ? '—' : formatNs(b),
      '',
      '',
    ]);
    continue;
  }
  const change = (100 * (b - a)) / a;
  const flag = change > threshold ? 'REGRESSION' : change < -threshold ? 'faster' : '';
  if (flag === 'REGRESSION') regressions++;
  rows.push([k, formatNs(a), formatNs(b), `${change >= 0 ? '+' : ''}${change.toFixed(1)}%`, flag]);
}
const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
for (const r of rows) {
  console.log(r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  '));
}
console.log(
  `\n${regressions} regression(s) over ${threshold}% (best median of ${rounds} alternating rounds).`,
);
process.exit(regressions > 0 ? 1 : 0);
