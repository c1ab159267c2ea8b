/**
 * A small micro-benchmark harness (no dependencies): each case is warmed up, its iteration count
 * calibrated so one timed run lasts about `runMs`, then timed `runs` times; the result is the
 * median ns/op with the min–max. The return value of every call goes into a sink that is read at
 * the end, so the JIT cannot drop the work as dead code.
 */

export interface CaseResult {
  suite: string;
  name: string;
  /** Median nanoseconds per operation. */
  ns: number;
  min: number;
  max: number;
  /** Operations per timed run (after calibration). */
  iterations: number;
}

export interface HarnessOptions {
  /** Warm-up time per case in ms (lets the JIT optimize before timing). */
  warmupMs: number;
  /** Target duration of one timed run in ms. */
  runMs: number;
  /** Timed runs per case (odd, so the median is one of them). */
  runs: number;
  /** Only cases whose "suite/name" contains this string. */
  filter: string;
}

export const DEFAULT_HARNESS: HarnessOptions = { warmupMs: 200, runMs: 100, runs: 7, filter: '' };

interface Case {
  name: string;
  fn: () => unknown;
}

let sink = 0;
function consume(v: unknown): void {
  // Cheap and opaque to the optimizer: depends on the value without keeping it alive.
  if (v === sink) sink++;
}

function timeLoop(fn: () => unknown, n: number): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) consume(fn());
  return Number(process.hrtime.bigint() - t0);
}

export class Suite {
  readonly title: string;
  private readonly cases: Case[] = [];

  constructor(title: string) {
    this.title = title;
  }

  add(name: string, fn: () => unknown): this {
    this.cases.push({ name, fn });
    return this;
  }

  run(opts: HarnessOptions = DEFAULT_HARNESS): CaseResult[] {
    const out: CaseResult[] = [];
    for (const c of this.cases) {
      if (opts.filter !== '' && !`${this.title}/${c.name}`.includes(opts.filter)) continue;
      // Warm up, doubling the batch until the warm-up time is spent; that also calibrates.
      let n = 1;
      let spent = 0;
      let perOp = 0;
      const warmNs = opts.warmupMs * 1e6;
      while (spent < warmNs) {
        const t = timeLoop(c.fn, n);
        spent += t;
        perOp = t / n;
        if (t < 10e6) n *= 2;
      }
      const iterations = Math.max(1, Math.round((opts.runMs * 1e6) / Math.max(perOp, 0.1)));
      const samples: number[] = [];
      for (let r = 0; r < opts.runs; r++) samples.push(timeLoop(c.fn, iterations) / iterations);
      samples.sort((a, b) => a - b);
      out.push({
        suite: this.title,
        name: c.name,
        ns: samples[samples.length >> 1]!,
        min: samples[0]!,
        max: samples[samples.length - 1]!,
        iterations,
      });
    }
    if (sink === -1) console.log('unreachable');
    return out;
  }
}

export function formatNs(ns: number): string {
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(2)} µs`;
  return `${ns.toFixed(1)} ns`;
}

/** Plain-text table of results. */
export function formatResults(results: readonly CaseResult[]): string {
  const rows = [
    ['suite', 'case', 'time/op', 'ops/s', 'min – max'],
    ...results.map((r) => [
      r.suite,
      r.name,
      formatNs(r.ns),
      (1e9 / r.ns).toExponential(2),
      `${formatNs(r.min)} – ${formatNs(r.max)}`,
    ]),
  ];
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) => r.map((c, i) => (i < 2 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  '))
    .join('\n');
}
