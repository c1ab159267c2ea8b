/**
 * Micro-benchmark: setting the two headers a typical handler sets on every response.
 * Run: node dist/bench/micro/headers.js  (prints ns/op, median of 7 runs)
 */
import { HeaderList } from '../../src/core/headers.js';

export function setTwo(): HeaderList {
  const h = new HeaderList();
  h.set('Server', 'rapid');
  h.set('Content-Type', 'text/plain');
  return h;
}

export function measure(fn: () => unknown, iterations = 2_000_000, runs = 7): number {
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) fn();
    times.push(Number(process.hrtime.bigint() - t0) / iterations);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(runs / 2)] as number;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  measure(setTwo, 200_000, 3); // warm-up
  console.log(`HeaderList set x2: ${measure(setTwo).toFixed(1)} ns/op`);
}
