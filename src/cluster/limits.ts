/**
 * The open-file limit of this process (RLIMIT_NOFILE). Linux: from /proc/self/limits; elsewhere
 * `ulimit -n` would need a shell, so it is reported as unknown. Each connection is a descriptor, so
 * a low soft limit caps the connections a worker can hold (EMFILE on accept).
 */
import { readFileSync } from 'node:fs';
import type { NofileLimit } from './protocol.js';

/** Below this many descriptors a worker warns at start-up. */
export const LOW_NOFILE = 4096;

export function parseLimits(text: string): NofileLimit | null {
  const m = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(text);
  if (m === null) return null;
  const v = (s: string): number | 'unlimited' => (s === 'unlimited' ? s : Number(s));
  return { soft: v(m[1] as string), hard: v(m[2] as string) };
}

export function nofileLimit(): NofileLimit | null {
  try {
    return parseLimits(readFileSync('/proc/self/limits', 'latin1'));
  } catch {
    return null;
  }
}

/** The warning to print for a limit, or null when it is fine (or unknown). */
export function nofileWarning(limit: NofileLimit | null): string | null {
  if (limit === null || limit.soft === 'unlimited' || limit.soft >= LOW_NOFILE) return null;
  const raise =
    limit.hard === 'unlimited' || limit.hard > limit.soft
      ? ` (hard limit ${limit.hard}: raise it with ulimit -n)`
      : '';
  return `open-file limit is ${limit.soft}, low for a server: each connection needs one${raise}`;
}
