/**
 * Running wrk pinned to the load core and reading its results. The Lua scripts in bench/wrk print
 * one `WRK_JSON {...}` line from wrk's done() hook with the exact counters; wrk's prose output is
 * parsed only as a fallback (and for the Requests/sec line, to cross-check).
 */
import { spawn } from 'node:child_process';
import { cpuTicks, CLK_TCK } from './proc.js';

export interface WrkResult {
  requests: number;
  durationSec: number;
  reqPerSec: number;
  bytes: number;
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
  latencyUs: { min: number; mean: number; max: number; p50: number; p90: number; p99: number };
  /** CPU wrk itself used, % of one core (near 100 means the client, not the server, is the limit). */
  clientCpu: number;
  /** wrk's CPU ticks at its last sample (within 50 ms of its end). */
  clientTicks: number;
  pid: number;
}

interface WrkJson {
  duration_us: number;
  requests: number;
  bytes: number;
  errors: WrkResult['errors'];
  latency_us: WrkResult['latencyUs'];
}

/** Parse wrk's stdout (with one of bench/wrk's scripts). Throws when there is nothing usable. */
export function parseWrkOutput(
  stdout: string,
): Omit<WrkResult, 'clientCpu' | 'clientTicks' | 'pid'> {
  const line = stdout.split('\n').find((l) => l.startsWith('WRK_JSON '));
  if (line !== undefined) {
    const j = JSON.parse(line.slice('WRK_JSON '.length)) as WrkJson;
    const durationSec = j.duration_us / 1e6;
    return {
      requests: j.requests,
      durationSec,
      reqPerSec: durationSec > 0 ? j.requests / durationSec : 0,
      bytes: j.bytes,
      errors: j.errors,
      latencyUs: j.latency_us,
    };
  }
  return parseWrkProse(stdout);
}

const UNIT_US: Record<string, number> = { us: 1, ms: 1e3, s: 1e6, m: 60e6, h: 3600e6 };
const UNIT_B: Record<string, number> = { B: 1, KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 };

function durationUs(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(text);
  return m === null ? Number.NaN : Number(m[1]) * UNIT_US[m[2]!]!;
}

/** wrk's human output (no script): "Requests/sec:", "N requests in Xs, YMB read", percentiles. */
export function parseWrkProse(
  stdout: string,
): Omit<WrkResult, 'clientCpu' | 'clientTicks' | 'pid'> {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(stdout);
  const total = /(\d+) requests in ([\d.]+\w+), ([\d.]+)(B|KB|MB|GB) read/.exec(stdout);
  if (rps === null || total === null) throw new Error(`cannot read wrk output:\n${stdout}`);
  const pct = (p: string): number => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+\\w+)\\s*$`, 'm').exec(stdout);
    return m === null ? 0 : durationUs(m[1]!);
  };
  const lat = /Latency\s+([\d.]+\w+)\s+[\d.]+\w+\s+([\d.]+\w+)/.exec(stdout);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(stdout);
  return {
    requests: Number(total[1]),
    durationSec: durationUs(total[2]!) / 1e6,
    reqPerSec: Number(rps[1]),
    bytes: Number(total[3]) * UNIT_B[total[4]!]!,
    errors: {
      connect: Number(sock?.[1] ?? 0),
      read: Number(sock?.[2] ?? 0),
      write: Number(sock?.[3] ?? 0),
      status: Number(non2xx?.[1] ?? 0),
      timeout: Number(sock?.[4] ?? 0),
    },
    latencyUs: {
      min: 0,
      mean: lat === null ? 0 : durationUs(lat[1]!),
      max: lat === null ? 0 : durationUs(lat[2]!),
      p50: pct('50'),
      p90: pct('90'),
      p99: pct('99'),
    },
  };
}

export function errorCount(r: Pick<WrkResult, 'errors'>): number {
  const e = r.errors;
  return e.connect + e.read + e.write + e.status + e.timeout;
}

/**
 * Run wrk (argv without the leading "wrk") pinned to `cpu`, sampling its CPU time from /proc
 * every 50 ms (the process is gone once it exits, so the last sample stands for the run).
 */
export function runWrk(cpu: string, argv: readonly string[], cwd: string): Promise<WrkResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('taskset', ['-c', cpu, 'wrk', ...argv], {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const pid = child.pid ?? -1;
    const t0 = process.hrtime.bigint();
    let lastTicks = 0;
    let lastAt = t0;
    const sampler = setInterval(() => {
      const t = cpuTicks([pid]);
      if (t >= 0) {
        lastTicks = t;
        lastAt = process.hrtime.bigint();
      }
    }, 50);
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString('utf8')));
    child.on('error', (e) => {
      clearInterval(sampler);
      reject(e);
    });
    child.on('close', (code) => {
      clearInterval(sampler);
      if (code !== 0) {
        reject(new Error(`wrk exited with ${code}: ${err || out}`));
        return;
      }
      try {
        const parsed = parseWrkOutput(out);
        const elapsed = Number(lastAt - t0) / 1e9;
        const clientCpu = elapsed > 0.5 ? (100 * lastTicks) / CLK_TCK / elapsed : Number.NaN;
        resolve({ ...parsed, clientCpu, clientTicks: lastTicks, pid });
      } catch (e) {
        reject(e as Error);
      }
    });
  });
}
