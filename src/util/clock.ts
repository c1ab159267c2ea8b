/**
 * A coarse clock and sweep timer. Connections store deadlines as plain numbers (milliseconds on
 * this clock) and one interval per registry checks them, so arming or moving a timeout is a
 * field assignment: no setTimeout/clearTimeout churn per request (cf. undici lib/util/timers.js,
 * h2o's timerwheel).
 */

export const clock = { now: Date.now() };

const sweepers = new Set<(now: number) => void>();
let interval: NodeJS.Timeout | undefined;
let resolution = 500;

function tick(): void {
  clock.now = Date.now();
  for (const s of sweepers) s(clock.now);
}

/** Register a function called every `resolution` ms with the current time. Returns the remover. */
export function addSweeper(fn: (now: number) => void): () => void {
  sweepers.add(fn);
  if (interval === undefined) {
    clock.now = Date.now();
    interval = setInterval(tick, resolution);
    interval.unref();
  }
  return () => {
    sweepers.delete(fn);
    if (sweepers.size === 0 && interval !== undefined) {
      clearInterval(interval);
      interval = undefined;
    }
  };
}

/** Sweep resolution in ms (default 500). Timeouts fire up to this late. Tests may lower it. */
export function setSweepResolution(ms: number): void {
  resolution = ms;
  if (interval !== undefined) {
    clearInterval(interval);
    interval = setInterval(tick, resolution);
    interval.unref();
  }
}

/** Current coarse time, refreshed by the sweep and whenever a caller needs precision. */
export function now(): number {
  return clock.now;
}
