/**
 * Workers and logging: `npm run bench:workers [-- flags]`, run under `flock /tmp/rapid-bench.lock`.
 *
 * 1. Access-log writers in one process: Rapid's formatter + batched LineWriter vs pino (JSON lines,
 *    asynchronous sonic-boom destination), CPU microseconds per line (process.cpuUsage), medians.
 * 2. Throughput, GET /plaintext with wrk: Rapid with 1 and 2 workers (access log off and on),
 *    nginx with 1 and 2 worker processes, node:http under cluster with 1 and 2 workers. Servers
 *    with one process are pinned to core 0 and wrk to core 1; with two processes the server gets
 *    both cores and so does wrk (on a 2-core machine nothing else is possible), so compare those by
 *    CPU time per request as much as by req/s. Runs are interleaved (A B C ... A B C ...), medians.
 * 3. Distribution: how a 2-worker Rapid spreads wrk's connections, per scheduling mode available
 *    here (round-robin shared handle, OS-scheduled shared handle, SO_REUSEPORT where Node has it),
 *    read from the status endpoint.
 *
 * Writes bench/results/<date>-workers.{md,json}.
 *   --duration 5 --reps 3 --connections 64 --lines 200000 --only logs,throughput,distribution
 *   --servers rapid-1,rapid-1-log,...   (a subset of the throughput variants)
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { accessLogFormatter, LineWriter } from '../src/features/log/index.js';
import type { RapidRequest } from '../src/core/types.js';
import { hasReusePort } from '../src/net/listener.js';
import {
  capture,
  CLK_TCK,
  cpuTicks,
  freePort,
  have,
  processTree,
  startPinned,
  stop,
  waitUntilUp,
  type Running,
} from './lib/proc.js';
import { findPackageRoot } from '../src/util/package-root.js';
import { nginxConfig } from './lib/servers.js';
import { median } from './lib/stats.js';
import { errorCount, runWrk } from './lib/wrk.js';

const { values: flags } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    reps: { type: 'string', default: '3' },
    connections: { type: 'string', default: '64' },
    lines: { type: 'string', default: '200000' },
    only: { type: 'string', default: 'logs,throughput,distribution' },
    servers: { type: 'string' },
  },
});
const DURATION = Number(flags.duration);
const REPS = Number(flags.reps);
const CONNS = Number(flags.connections);
const LINES = Number(flags.lines);
const ONLY = new Set(flags.only.split(','));
const HOST = '127.0.0.1';
const distBench = fileURLToPath(new URL('.', import.meta.url));
const root = findPackageRoot(import.meta.url);
const tmp = mkdtempSync(join(os.tmpdir(), 'rapid-bench-workers-'));
const out: string[] = [];
const json: Record<string, unknown> = { date: new Date().toISOString(), node: process.version };
const say = (line = ''): void => {
  console.log(line);
  out.push(line);
};

// ---- 1. access-log writers ----

function fakeRequest(i: number): RapidRequest {
  const headers: Record<string, string> = {
    referer: 'https://example.com/page',
    'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) bench',
  };
  return {
    method: 'GET',
    url: `/articles/${i}?page=2`,
    httpVersion: '1.1',
    host: 'example.com',
    header: (n: string) => headers[n],
  } as unknown as RapidRequest;
}

async function benchHandRolled(path: string, reqs: RapidRequest[]): Promise<number> {
  const w = await LineWriter.open(path);
  const fmt = accessLogFormatter('json');
  const t0 = process.cpuUsage();
  const now = performance.now();
  for (let i = 0; i < reqs.length; i++) {
    w.write(fmt(reqs[i] as RapidRequest, 200, 512, 180, now, '127.0.0.1'));
    if ((i & 1023) === 1023) await new Promise((r) => setImmediate(r)); // let batches leave, as a server's loop would
  }
  await w.close();
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / reqs.length;
}

async function benchPino(path: string, reqs: RapidRequest[]): Promise<number> {
  const dest = pino.destination({ dest: path, sync: false, minLength: 4096 });
  const log = pino({ base: null, timestamp: pino.stdTimeFunctions.isoTime }, dest);
  const t0 = process.cpuUsage();
  const now = performance.now();
  for (let i = 0; i < reqs.length; i++) {
    const r = reqs[i] as RapidRequest;
    log.info({
      remote: '127.0.0.1',
      host: r.host,
      method: r.method,
      target: r.url,
      protocol: `HTTP/${r.httpVersion}`,
      status: 200,
      bytes: 512,
      body_bytes: 332,
      duration_ms: Math.round((performance.now() - now) * 1000) / 1000,
      referer: r.header('referer'),
      user_agent: r.header('user-agent'),
    });
    if ((i & 1023) === 1023) await new Promise((r2) => setImmediate(r2));
  }
  await new Promise<void>((resolve) => {
    dest.flush(() => resolve());
  });
  dest.end();
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / reqs.length;
}

async function logs(): Promise<void> {
  const reqs = Array.from({ length: LINES }, (_, i) => fakeRequest(i));
  const hand: number[] = [];
  const pin: number[] = [];
  for (let rep = 0; rep < Math.max(REPS, 3); rep++) {
    hand.push(await benchHandRolled(join(tmp, `hand-${rep}.log`), reqs));
    pin.push(await benchPino(join(tmp, `pino-${rep}.log`), reqs));
    rmSync(join(tmp, `hand-${rep}.log`), { force: true });
    rmSync(join(tmp, `pino-${rep}.log`), { force: true });
  }
  const h = median(hand);
  const p = median(pin);
  json.logs = { lines: LINES, handRolledUsPerLine: hand, pinoUsPerLine: pin };
  say('## Access-log writers (one process, JSON lines to a file)');
  say();
  say(`${LINES} lines per run, ${hand.length} interleaved runs, CPU time per line (median):`);
  say();
  say('| Writer | µs CPU / line |');
  say('| --- | --- |');
  say(`| Rapid formatter + batched LineWriter | ${h.toFixed(3)} |`);
  say(`| pino (sonic-boom, async) | ${p.toFixed(3)} |`);
  say();
  say(`pino / hand-rolled: ${(p / h).toFixed(2)}×`);
  say();
}

// ---- 2. throughput ----

interface Variant {
  name: string;
  processes: 1 | 2;
  start(port: number): { command: string; args: string[]; env: Record<string, string> };
}

const benchCtx = { root, distBench, tmp, host: HOST };

const app = join(distBench, 'workers-app.js');
const rapid = (n: 1 | 2, log: boolean): Variant => ({
  name: `rapid-${n}${log ? '-log' : ''}`,
  processes: n,
  start: (port) => ({
    command: process.execPath,
    args: [app],
    env: {
      PORT: String(port),
      HOST,
      WORKERS: String(n),
      ACCESS_LOG: log ? join(tmp, `access-${port}.log`) : '',
      NODE_ENV: 'production',
    },
  }),
});
const nodeCluster = (n: 1 | 2): Variant => ({
  name: `node-http-cluster-${n}`,
  processes: n,
  start: (port) => ({
    command: process.execPath,
    args: [join(root, 'bench', 'peers', 'node-http-cluster.mjs')],
    env: { PORT: String(port), HOST, WORKERS: String(n), NODE_ENV: 'production' },
  }),
});
const nginx = (n: 1 | 2): Variant => ({
  name: `nginx-${n}`,
  processes: n,
  start: (port) => ({
    command: 'nginx',
    args: [
      '-e',
      join(tmp, `nginx-${port}`, 'error.log'),
      '-p',
      join(tmp, `nginx-${port}`),
      '-c',
      nginxConfig(benchCtx, port, n),
    ],
    env: {},
  }),
});

interface Row {
  name: string;
  rps: number[];
  cpuUsPerReq: number[];
  errors: number;
}

async function measure(
  v: Variant,
  cpuServer: string,
  cpuClient: string,
): Promise<{ rps: number; cpu: number; errors: number }> {
  const port = await freePort(HOST);
  const l = v.start(port);
  const running: Running = startPinned(cpuServer, l.command, l.args, l.env, root);
  try {
    await waitUntilUp(running, HOST, port, '/plaintext', 20_000);
    const url = `http://${HOST}:${port}/plaintext`;
    // Warm-up (JIT, connection setup) is not measured.
    await runWrk(
      cpuClient,
      ['-t1', `-c${CONNS}`, '-d1s', '-s', join(root, 'bench', 'wrk', 'report.lua'), url],
      root,
    );
    const pids = processTree(running.pid);
    const before = cpuTicks(pids);
    const r = await runWrk(
      cpuClient,
      [
        '-t1',
        `-c${CONNS}`,
        `-d${DURATION}s`,
        '--latency',
        '-s',
        join(root, 'bench', 'wrk', 'report.lua'),
        url,
      ],
      root,
    );
    const used = cpuTicks(pids) - before;
    return {
      rps: r.reqPerSec,
      cpu: ((used / CLK_TCK) * 1e6) / Math.max(1, r.requests),
      errors: errorCount(r),
    };
  } finally {
    await stop(running);
  }
}

async function throughput(): Promise<void> {
  const all: Variant[] = [
    rapid(1, false),
    rapid(1, true),
    rapid(2, false),
    rapid(2, true),
    nodeCluster(1),
    nodeCluster(2),
  ];
  if (have('nginx')) all.push(nginx(1), nginx(2));
  const pick = flags.servers?.split(',');
  const variants = pick === undefined ? all : all.filter((v) => pick.includes(v.name));
  const rows = new Map<string, Row>(
    variants.map((v) => [v.name, { name: v.name, rps: [], cpuUsPerReq: [], errors: 0 }]),
  );
  for (let rep = 0; rep < REPS; rep++) {
    for (const v of variants) {
      const one = v.processes === 1;
      const m = await measure(v, one ? '0' : '0,1', one ? '1' : '0,1');
      const row = rows.get(v.name) as Row;
      row.rps.push(m.rps);
      row.cpuUsPerReq.push(m.cpu);
      row.errors += m.errors;
      console.log(
        `  ${v.name} rep ${rep + 1}: ${Math.round(m.rps)} req/s, ${m.cpu.toFixed(2)} µs CPU/req`,
      );
    }
  }
  json.throughput = [...rows.values()];
  say(
    `## Throughput: GET /plaintext, wrk -t1 -c${CONNS} -d${DURATION}s, ${REPS} interleaved runs, medians`,
  );
  say();
  say('1-process servers on core 0 and wrk on core 1; 2-process servers and wrk share cores 0-1.');
  say();
  say('| Server | Processes | req/s | µs server CPU / request | wrk errors |');
  say('| --- | --- | --- | --- | --- |');
  for (const v of variants) {
    const r = rows.get(v.name) as Row;
    say(
      `| ${v.name} | ${v.processes} | ${Math.round(median(r.rps))} | ${median(r.cpuUsPerReq).toFixed(2)} | ${r.errors} |`,
    );
  }
  say();
  for (const n of [1, 2]) {
    const off = rows.get(`rapid-${n}`);
    const on = rows.get(`rapid-${n}-log`);
    if (off === undefined || on === undefined || !variants.some((v) => v.name === on.name))
      continue;
    const rpsCost = 1 - median(on.rps) / median(off.rps);
    const cpuCost = median(on.cpuUsPerReq) / median(off.cpuUsPerReq) - 1;
    say(
      `Access log (combined, to a file) with ${n} worker${n > 1 ? 's' : ''}: req/s ${(rpsCost * 100).toFixed(1)}% lower, CPU per request ${(cpuCost * 100).toFixed(1)}% higher.`,
    );
  }
  say();
}

// ---- 3. distribution ----

async function distribution(): Promise<void> {
  const modes = ['round-robin', 'os', ...(hasReusePort() ? ['reuseport'] : [])];
  const res: Record<string, number[][]> = {};
  for (const mode of modes) res[mode] = [];
  for (let rep = 0; rep < REPS; rep++) {
    for (const mode of modes) {
      const port = await freePort(HOST);
      const running = startPinned(
        '0,1',
        process.execPath,
        [app],
        { PORT: String(port), HOST, WORKERS: '2', DISTRIBUTION: mode },
        root,
      );
      try {
        await waitUntilUp(running, HOST, port, '/plaintext', 20_000);
        // Each wrk connection is one accept: a fresh wrk run distributes CONNS connections.
        await runWrk(
          '0,1',
          [
            '-t1',
            `-c${CONNS}`,
            `-d${Math.min(DURATION, 3)}s`,
            '-s',
            join(root, 'bench', 'wrk', 'report.lua'),
            `http://${HOST}:${port}/plaintext`,
          ],
          root,
        );
        const text = await (await fetch(`http://${HOST}:${port}/server-status`)).text();
        const per = [...text.matchAll(/^rapid_worker_requests_total\{[^}]*\} (\d+)$/gm)].map((m) =>
          Number(m[1]),
        );
        res[mode]?.push(per);
        console.log(`  ${mode} rep ${rep + 1}: requests per worker ${per.join(' / ')}`);
      } finally {
        await stop(running);
      }
    }
  }
  json.distribution = res;
  say(
    `## Distribution of wrk's ${CONNS} keep-alive connections over 2 workers (share of requests per worker)`,
  );
  say();
  say('| Mode | Runs: busiest worker share |');
  say('| --- | --- |');
  for (const mode of modes) {
    const shares = (res[mode] ?? []).map((per) => {
      const total = per.reduce((a, b) => a + b, 0);
      return total > 0 ? Math.max(...per) / total : 0;
    });
    say(
      `| ${mode} | ${shares.map((s) => `${(s * 100).toFixed(0)}%`).join(', ')} (median ${(median(shares) * 100).toFixed(0)}%) |`,
    );
  }
  if (!hasReusePort())
    say(`\nSO_REUSEPORT: not available on Node ${process.versions.node} (needs 22.12+ / 23.1+).`);
  say();
}

try {
  say(`# Workers and logging bench (${new Date().toISOString().slice(0, 10)})`);
  say();
  say(
    `Node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), nginx ${have('nginx') ? capture('nginx', ['-v']).replace(/^nginx version: /, '') : 'absent'}, load average ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')} at start.`,
  );
  say();
  if (ONLY.has('logs')) await logs();
  if (ONLY.has('throughput')) await throughput();
  if (ONLY.has('distribution')) await distribution();
  say(
    `Command: flock /tmp/rapid-bench.lock npm run bench:workers -- --duration ${DURATION} --reps ${REPS} --connections ${CONNS}`,
  );
  const dir = join(root, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  // A partial run (--only, --servers) does not overwrite the full one.
  const partial = flags.servers !== undefined || ONLY.size < 3 ? '-partial' : '';
  const base = join(dir, `${new Date().toISOString().slice(0, 10)}-workers${partial}`);
  writeFileSync(`${base}.md`, `${out.join('\n')}\n`);
  writeFileSync(`${base}.json`, `${JSON.stringify(json, null, 2)}\n`);
  console.log(`wrote ${base}.md and .json`);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
