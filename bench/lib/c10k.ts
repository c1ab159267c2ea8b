/**
 * The pure parts of the concurrency proof (bench/c10k.ts): the HTTP response reader of its load
 * clients, adding up the clients' counters, reading `ab`'s output, and the results file
 * (bench/results/<date>-c10k.{md,json}). Nothing here touches a socket, so the tests cover it.
 */
import type { Machine } from './machine.js';

/** What a client process counts. Every request ends in exactly one of ok or a failure. */
export interface ClientStats {
  /** Responses with status 200 and the whole body. */
  ok: number;
  /** Complete responses with another status. */
  non200: number;
  /** connect() failed (refused, no address, timed out before the handshake). */
  connectErrors: number;
  /** The connection was reset (ECONNRESET, EPIPE) before the whole response arrived. */
  resets: number;
  /** The server closed the connection (a clean FIN) before the whole response arrived. */
  closed: number;
  /** No complete response within the timeout. */
  timeouts: number;
  /** Unparseable responses and anything else. */
  other: number;
  /** Idle mode: held connections the server closed while they were supposed to stay open. */
  dropped: number;
  /** Keep-alive mode: connections the server ended with Connection: close, then reopened. */
  reconnects: number;
  /** Most sockets this process had open at once. */
  peakOpen: number;
  /** Latency of each completed request in ms (ok and non-200). */
  latencyMs: number[];
  /** Time from connect() to the connection being established, ms, per connection. */
  connectMs?: number[];
  /** Time from a Connection: close answer to the connection being closed, ms. */
  closeMs?: number[];
  /** The first few error messages, to say what went wrong. */
  samples: string[];
}

export function emptyStats(): ClientStats {
  return {
    ok: 0,
    non200: 0,
    connectErrors: 0,
    resets: 0,
    closed: 0,
    timeouts: 0,
    other: 0,
    dropped: 0,
    reconnects: 0,
    peakOpen: 0,
    latencyMs: [],
    samples: [],
  };
}

/** Everything that is not a 200 with its whole body. */
export function failures(s: Omit<ClientStats, 'latencyMs' | 'samples'>): number {
  return s.non200 + s.connectErrors + s.resets + s.closed + s.timeouts + s.other + s.dropped;
}

/** The sum of several processes' counters (peakOpen adds up too: the processes run at once). */
export function mergeStats(all: readonly ClientStats[]): ClientStats {
  const out = emptyStats();
  for (const s of all) {
    out.ok += s.ok;
    out.non200 += s.non200;
    out.connectErrors += s.connectErrors;
    out.resets += s.resets;
    out.closed += s.closed;
    out.timeouts += s.timeouts;
    out.other += s.other;
    out.dropped += s.dropped;
    out.reconnects += s.reconnects;
    out.peakOpen += s.peakOpen;
    for (const l of s.latencyMs) out.latencyMs.push(l);
    for (const l of s.connectMs ?? []) (out.connectMs ??= []).push(l);
    for (const l of s.closeMs ?? []) (out.closeMs ??= []).push(l);
    for (const m of s.samples)
      if (out.samples.length < 8 && !out.samples.includes(m)) out.samples.push(m);
  }
  return out;
}

/** Split `total` into `n` near-equal integer parts (the larger ones first). */
export function split(total: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.floor(total / n) + (i < total % n ? 1 : 0));
}

/**
 * Source addresses for `n` client processes, `per` each and none shared: 127.0.0.<first>, …
 * (all of 127/8 is loopback on Linux). Each address has its own ~28k ephemeral ports.
 */
export function sourceAddresses(n: number, per: number, first = 2): string[][] {
  return Array.from({ length: n }, (_, i) =>
    Array.from({ length: per }, (_, j) => {
      const k = first + i * per + j;
      return `127.0.${Math.floor(k / 256)}.${k % 256}`;
    }),
  );
}

/** The p-th percentile (0..100) by nearest rank; NaN for no samples. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export interface ResponseHead {
  status: number;
  /** Content-Length, or null when the body runs to the end of the connection. */
  contentLength: number | null;
  /** The server said Connection: close (or answered HTTP/1.0 without keep-alive). */
  close: boolean;
  /** Bytes of the head including the blank line. */
  headBytes: number;
}

const CRLFCRLF = Buffer.from('\r\n\r\n');

/**
 * Read a response head from the start of `buf`: null while it is incomplete, a string saying what
 * is wrong when it cannot be read (the load clients count that as a failure, never throw).
 */
export function parseResponseHead(buf: Buffer, maxHead = 16 * 1024): ResponseHead | string | null {
  const end = buf.indexOf(CRLFCRLF);
  if (end < 0) return buf.length > maxHead ? 'response head too large' : null;
  const lines = buf.toString('latin1', 0, end).split('\r\n');
  const m = /^HTTP\/1\.([01]) (\d{3})(?: .*)?$/.exec(lines[0] ?? '');
  if (m === null) return `bad status line ${JSON.stringify((lines[0] ?? '').slice(0, 40))}`;
  const http10 = m[1] === '0';
  let contentLength: number | null = null;
  let connection = '';
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    if (colon <= 0) return 'bad header line';
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'content-length') {
      if (!/^\d+$/.test(value)) return 'bad Content-Length';
      const n = Number(value);
      if (contentLength !== null && contentLength !== n) return 'conflicting Content-Length';
      contentLength = n;
    } else if (name === 'transfer-encoding') {
      return 'chunked responses are not read by this client';
    } else if (name === 'connection') {
      connection = `${connection},${value.toLowerCase()}`;
    }
  }
  const tokens = connection.split(',').map((t) => t.trim());
  const close = tokens.includes('close') || (http10 && !tokens.includes('keep-alive'));
  return { status: Number(m[2]), contentLength, close, headBytes: end + 4 };
}

/** What `ab` printed, as numbers. */
export interface AbResult {
  complete: number;
  failed: number;
  /** "Failed requests" broken down as ab does (Connect, Receive, Length, Exceptions). */
  failedBreakdown: Record<string, number>;
  non2xx: number;
  reqPerSec: number;
  seconds: number;
  /** The "longest request" row of the percentile table, ms. */
  maxMs: number;
  p50Ms: number;
  p99Ms: number;
}

/** Parse ab's report; null when it has none (ab gave up, e.g. "apr_socket_connect(): ..."). */
export function parseAbOutput(text: string): AbResult | null {
  const num = (re: RegExp): number | null => {
    const m = re.exec(text);
    return m === null ? null : Number(m[1]);
  };
  const complete = num(/^Complete requests:\s+(\d+)/m);
  if (complete === null) return null;
  const breakdown: Record<string, number> = {};
  const b = /^\s+\(Connect: (\d+), Receive: (\d+), Length: (\d+), Exceptions: (\d+)\)/m.exec(text);
  if (b !== null) {
    breakdown.connect = Number(b[1]);
    breakdown.receive = Number(b[2]);
    breakdown.length = Number(b[3]);
    breakdown.exceptions = Number(b[4]);
  }
  return {
    complete,
    failed: num(/^Failed requests:\s+(\d+)/m) ?? 0,
    failedBreakdown: breakdown,
    non2xx: num(/^Non-2xx responses:\s+(\d+)/m) ?? 0,
    reqPerSec: num(/^Requests per second:\s+([\d.]+)/m) ?? NaN,
    seconds: num(/^Time taken for tests:\s+([\d.]+)/m) ?? NaN,
    p50Ms: num(/^\s+50%\s+(\d+)/m) ?? NaN,
    p99Ms: num(/^\s+99%\s+(\d+)/m) ?? NaN,
    maxMs: num(/^\s+100%\s+(\d+)/m) ?? NaN,
  };
}

// --- the results file ----------------------------------------------------------------------

export type C10kTest = 'keepalive' | 'close' | 'idle' | 'ab';

export interface C10kRun {
  server: string;
  test: C10kTest;
  /** Connections open at once (the target). */
  concurrency: number;
  /** Requests asked for. */
  requests: number;
  ok: number;
  failures: number;
  /** The failure counters (ClientStats' names; ab's breakdown for ab). */
  failureKinds: Record<string, number>;
  /** Sum of the client processes' peaks. */
  peakOpen: number;
  /** ESTABLISHED sockets on the server's port (`ss`) once every client had connected; null if not counted. */
  serverEstablished: number | null;
  seconds: number;
  reqPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Server processes' RSS (sum over the process tree), bytes: before the connections and while held. */
  rssBefore: number | null;
  rssHeld: number | null;
  /** (rssHeld - rssBefore) / connections held. */
  rssPerConnection: number | null;
  /** p99 of the clients' connect times and of their waits for the server's close, ms. */
  connectP99Ms?: number;
  closeP99Ms?: number;
  /** The most fds any one process of the server had open during the run (sampled 4×/s). */
  serverPeakFds?: number;
  /** CPU time (user + system) of the server's process tree during the run, seconds. */
  serverCpuSeconds?: number;
  /** Client processes and the source addresses they bound. */
  clients: number;
  sourceAddresses: number;
  command: string;
  samples: string[];
}

export interface C10kResults {
  label: string;
  date: string;
  machine: Machine;
  versions: Record<string, string>;
  config: Record<string, number | string | boolean>;
  /** RLIMIT_NOFILE and the sysctls: what they were, what the run set, what it could not set. */
  limits: {
    nofileSoft: number;
    nofileHard: number;
    sysctl: { name: string; before: string; after: string; wanted: string; ok: boolean }[];
  };
  servers: { name: string; label: string; workers: number; notes: string; command: string }[];
  runs: C10kRun[];
  notes: string[];
}

const TEST_TITLE: Record<C10kTest, string> = {
  keepalive: 'Keep-alive: every client connection open at once, then its requests one at a time',
  close: 'No keep-alive: every client loops connect, one request with Connection: close, close',
  idle: 'Idle keep-alive connections held by the cluster: memory per connection',
  ab: 'ApacheBench (one process, new connection per request)',
};

function fmtBytes(n: number | null): string {
  if (n === null || !Number.isFinite(n)) return '—';
  if (Math.abs(n) >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(2)} GiB`;
  if (Math.abs(n) >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  if (Math.abs(n) >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n.toFixed(0)} B`;
}

function fmtNum(n: number, digits = 0): string {
  return Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits }) : '—';
}

function md(header: string[], rows: string[][], numeric = true): string {
  const esc = (c: string): string => c.replace(/\|/g, '\\|');
  return [
    `| ${header.map(esc).join(' | ')} |`,
    `| ${header.map((_, i) => (i === 0 || !numeric ? '---' : '---:')).join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

function kinds(k: Record<string, number>): string {
  const parts = Object.entries(k)
    .filter(([, v]) => v > 0)
    .map(([n, v]) => `${n} ${v}`);
  return parts.length === 0 ? '' : ` (${parts.join(', ')})`;
}

export function labelOfServer(res: C10kResults, name: string): string {
  return res.servers.find((s) => s.name === name)?.label ?? name;
}

/** The one-line verdict for the README and the top of the file. */
export function c10kVerdict(res: C10kResults): string {
  const rapid = res.runs.filter((r) => r.server === 'rapid');
  if (rapid.length === 0) return 'Rapid did not run.';
  const failed = rapid.reduce((a, r) => a + r.failures, 0);
  const idle = rapid.find((r) => r.test === 'idle');
  const parts = rapid
    .filter((r) => r.test !== 'idle' && r.test !== 'ab')
    .map(
      (r) =>
        `${fmtNum(r.ok)} / ${fmtNum(r.requests)} requests over ${fmtNum(r.concurrency)} ${r.test === 'close' ? 'concurrent clients without keep-alive' : 'concurrent keep-alive connections'}`,
    );
  const ab = rapid.find((r) => r.test === 'ab');
  if (ab !== undefined) {
    parts.push(`ab -c ${fmtNum(ab.concurrency)}: ${fmtNum(ab.ok)} / ${fmtNum(ab.requests)}`);
  }
  if (idle !== undefined) {
    parts.push(
      `${fmtNum(idle.peakOpen)} idle keep-alive connections at ${fmtBytes(idle.rssPerConnection)} RSS each`,
    );
  }
  return `Rapid: ${parts.join('; ')}; ${failed === 0 ? 'zero failures' : `${failed} FAILURES`}.`;
}

export function c10kMarkdown(res: C10kResults): string {
  const out: string[] = [];
  const m = res.machine;
  out.push(`# Rapid concurrency proof (C10K): ${res.label}, ${res.date.slice(0, 10)}`);
  out.push('');
  out.push(
    `Machine: ${m.nproc} cores (${m.cpuModel}), ${m.memoryGiB.toFixed(0)} GiB, Linux ${m.kernel}. ` +
      `Started ${res.date}. Everything on loopback; other engineers' work shared the machine, so ` +
      'throughput is indicative only: the failures (which must be 0) and the memory per connection ' +
      'are the point.',
  );
  out.push('');
  out.push(`**${c10kVerdict(res)}**`);
  for (const test of ['keepalive', 'close', 'ab', 'idle'] as const) {
    const runs = res.runs.filter((r) => r.test === test);
    if (runs.length === 0) continue;
    out.push('');
    out.push(`## ${TEST_TITLE[test]}`);
    out.push('');
    if (test === 'idle') {
      out.push(
        md(
          [
            'server',
            'connections',
            'held (ss)',
            'failures',
            'RSS before',
            'RSS held',
            'RSS / connection',
            'peak fds / process',
            'seconds to open',
          ],
          runs.map((r) => [
            labelOfServer(res, r.server),
            fmtNum(r.concurrency),
            r.serverEstablished === null ? '—' : fmtNum(r.serverEstablished),
            `${r.failures}${kinds(r.failureKinds)}`,
            fmtBytes(r.rssBefore),
            fmtBytes(r.rssHeld),
            fmtBytes(r.rssPerConnection),
            r.serverPeakFds === undefined ? '—' : fmtNum(r.serverPeakFds),
            fmtNum(r.seconds, 1),
          ]),
        ),
      );
    } else {
      out.push(
        md(
          [
            'server',
            'concurrency',
            'requests',
            'ok',
            'failures',
            test === 'ab' ? 'open (ab -c)' : 'open at once (ss)',
            'seconds',
            'req/s',
            'server CPU µs/req',
            'peak fds / process',
            'connect p99 ms',
            'p50 ms',
            'p99 ms',
            'max ms',
          ],
          runs.map((r) => [
            labelOfServer(res, r.server),
            fmtNum(r.concurrency),
            fmtNum(r.requests),
            fmtNum(r.ok),
            `${r.failures}${kinds(r.failureKinds)}`,
            r.serverEstablished === null ? fmtNum(r.peakOpen) : fmtNum(r.serverEstablished),
            fmtNum(r.seconds, 1),
            fmtNum(r.reqPerSec),
            r.serverCpuSeconds === undefined || r.ok === 0
              ? '—'
              : fmtNum((1e6 * r.serverCpuSeconds) / r.ok),
            r.serverPeakFds === undefined ? '—' : fmtNum(r.serverPeakFds),
            r.connectP99Ms === undefined ? '—' : fmtNum(r.connectP99Ms, 1),
            fmtNum(r.p50Ms, 1),
            fmtNum(r.p99Ms, 1),
            fmtNum(r.maxMs, 1),
          ]),
        ),
      );
    }
    out.push('');
    const cmds = [...new Set(runs.map((r) => r.command))];
    if (cmds.length === 1) out.push(`Load: \`${cmds[0]}\``);
    else for (const r of runs) out.push(`- ${labelOfServer(res, r.server)}: \`${r.command}\``);
    for (const r of runs) {
      if (r.samples.length > 0)
        out.push(
          `- ${labelOfServer(res, r.server)} errors: ${r.samples.map((s) => `\`${s}\``).join(', ')}`,
        );
    }
  }
  out.push('');
  out.push('## Servers');
  out.push('');
  out.push(
    md(
      ['server', 'workers', 'configuration', 'command'],
      res.servers.map((s) => [s.label, String(s.workers), s.notes, `\`${s.command}\``]),
      false,
    ),
  );
  out.push('');
  out.push('## Limits');
  out.push('');
  out.push(
    `RLIMIT_NOFILE: soft ${res.limits.nofileSoft}, hard ${res.limits.nofileHard} (a process cannot ` +
      'raise its hard limit here, so no process may hold more than that many sockets).',
  );
  if (res.limits.sysctl.length > 0) {
    out.push('');
    out.push(
      md(
        ['sysctl', 'before', 'wanted', 'during the run', 'set'],
        res.limits.sysctl.map((s) => [s.name, s.before, s.wanted, s.after, s.ok ? 'yes' : 'no']),
        false,
      ),
    );
  }
  out.push('');
  out.push('## Versions');
  out.push('');
  out.push(md(['tool', 'version'], Object.entries(res.versions), false));
  out.push('');
  out.push('## Configuration');
  out.push('');
  out.push(
    md(
      ['setting', 'value'],
      Object.entries(res.config).map(([k, v]) => [k, String(v)]),
      false,
    ),
  );
  if (res.notes.length > 0) {
    out.push('');
    out.push('## Notes');
    out.push('');
    for (const n of res.notes) out.push(`- ${n}`);
  }
  out.push('');
  return out.join('\n');
}
