/**
 * The concurrency proof: `npm run bench:c10k [-- flags]` (run it under
 * `flock /tmp/rapid-bench.lock`). For each server (Rapid, nginx, node:http, each as several
 * processes on one port) and each test:
 *   keepalive  --concurrency connections from --clients processes, all open at once (counted on
 *              the server side with `ss`), then --requests requests spread over them
 *   close      --concurrency client loops at once, --requests connections in all, one request
 *              with Connection: close on each
 *   ab         `ab -r -n <requests> -c <ab-concurrency>` (one process: see --ab-concurrency)
 *   idle       --idle keep-alive connections from --idle-clients processes, each answered once and
 *              then held; the servers' RSS before and while held gives memory per connection
 * Zero failures are required: connect errors, resets, timeouts, non-200 and unanswered requests
 * all count, and the exit status is 1 when any Rapid run had one. Results go to
 * bench/results/<date>-<label>.{md,json}.
 *
 *   --servers rapid,nginx,node-http  --tests keepalive,close,ab,idle
 *   --concurrency 20000 --requests 100000 --clients 4
 *   --idle 50000 --idle-clients 5 --workers 4 --ab-concurrency 19000
 *   --timeout 60 (s, per connect and per request)  --max-seconds 300 (per run)
 *   --server-cpu 0 --client-cpu 1 ('' for no pinning)  --label c10k --out <base>
 *   --sched auto|rr|none   (the cluster module's scheduling where Node has no SO_REUSEPORT; auto:
 *                          shared socket for keepalive/close/ab, round-robin for idle)
 *   --no-install --no-sysctl
 *   --report <results.json>   (no runs: rewrite its .md with the current report code)
 */
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  c10kMarkdown,
  c10kVerdict,
  failures,
  mergeStats,
  parseAbOutput,
  percentile,
  type C10kResults,
  type C10kRun,
  type C10kTest,
  type ClientStats,
  sourceAddresses,
  split,
} from './lib/c10k.js';
import type { ClientJob } from './lib/c10k-client.js';
import { ensureInstalled, TOOLS, type Tool } from './lib/install.js';
import { machineInfo } from './lib/machine.js';
import { printUsage } from './lib/usage.js';
import {
  capture,
  CLK_TCK,
  cpuTicks,
  freePort,
  processTree,
  startPinned,
  stop,
  waitUntilUp,
  type Running,
} from './lib/proc.js';
import { findPackageRoot } from '../src/util/package-root.js';

const { values: flags } = parseArgs({
  options: {
    servers: { type: 'string', default: 'rapid,nginx,node-http' },
    tests: { type: 'string', default: 'keepalive,close,ab,idle' },
    concurrency: { type: 'string', default: '20000' },
    requests: { type: 'string', default: '100000' },
    clients: { type: 'string', default: '4' },
    idle: { type: 'string', default: '50000' },
    'idle-clients': { type: 'string', default: '5' },
    workers: { type: 'string', default: '4' },
    'ab-concurrency': { type: 'string', default: '19000' },
    timeout: { type: 'string', default: '60' },
    'max-seconds': { type: 'string', default: '300' },
    'server-cpu': { type: 'string', default: '0' },
    'client-cpu': { type: 'string', default: '1' },
    host: { type: 'string', default: '127.0.0.1' },
    label: { type: 'string', default: 'c10k' },
    out: { type: 'string' },
    'no-install': { type: 'boolean', default: false },
    'no-sysctl': { type: 'boolean', default: false },
    sched: { type: 'string', default: 'auto' },
    report: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

if (flags.help) {
  printUsage(import.meta.url);
  process.exit(0);
}

function int(name: string, min: number): number {
  const v = (flags as Record<string, unknown>)[name];
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) {
    console.error(`--${name} must be an integer >= ${min}, got ${String(v)}`);
    process.exit(2);
  }
  return n;
}

const opts = {
  concurrency: int('concurrency', 1),
  requests: int('requests', 1),
  clients: int('clients', 1),
  idle: int('idle', 0),
  idleClients: int('idle-clients', 1),
  workers: int('workers', 1),
  abConcurrency: int('ab-concurrency', 1),
  timeoutMs: int('timeout', 1) * 1000,
  maxMs: int('max-seconds', 10) * 1000,
  serverCpu: flags['server-cpu']!,
  clientCpu: flags['client-cpu']!,
  host: flags.host!,
  label: flags.label!.replace(/[^\w.-]+/g, '-'),
  sched: flags.sched!,
};
if (!['auto', 'rr', 'none'].includes(opts.sched)) {
  console.error(`--sched must be auto, rr or none, got ${opts.sched}`);
  process.exit(2);
}

/**
 * The cluster module's scheduling for a test (only used where Node has no SO_REUSEPORT). With
 * round-robin the primary accepts every connection and holds it until a worker takes it, so a
 * burst of 20,000 new connections can put ~20,000 fds in the primary: at RLIMIT_NOFILE it hits
 * EMFILE and libuv sheds connections (closes them unanswered). A shared socket lets each worker
 * accept for itself. Round-robin's even spread matters for the idle test instead (50,000
 * connections over 4 workers, each under the limit) and its connects arrive at a bounded rate.
 */
function schedFor(test: C10kTest): 'rr' | 'none' {
  if (opts.sched === 'rr' || opts.sched === 'none') return opts.sched;
  return test === 'idle' ? 'rr' : 'none';
}

const SERVER_NAMES = ['rapid', 'nginx', 'node-http'] as const;
type ServerName = (typeof SERVER_NAMES)[number];
const TESTS: readonly C10kTest[] = ['keepalive', 'close', 'ab', 'idle'];

function list<T extends string>(value: string, known: readonly T[], what: string): T[] {
  const out: T[] = [];
  for (const name of value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    if (!known.includes(name as T)) {
      console.error(`unknown ${what} "${name}"; known: ${known.join(', ')}`);
      process.exit(2);
    }
    out.push(name as T);
  }
  return out;
}

const servers = list(flags.servers!, SERVER_NAMES, 'server');
const tests = list(flags.tests!, TESTS, 'test');
const root = findPackageRoot(import.meta.url);
const distBench = dirname(fileURLToPath(import.meta.url));
const rel = (p: string): string => relative(root, p) || '.';
const log = (msg: string): void => console.error(`[c10k] ${msg}`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** Per-process fd limit: what a client or server process may hold. */
const NOFILE = (() => {
  const soft = Number(capture('sh', ['-c', 'ulimit -Sn']));
  const hard = Number(capture('sh', ['-c', 'ulimit -Hn']));
  return { soft: Number.isFinite(soft) ? soft : 1024, hard: Number.isFinite(hard) ? hard : 1024 };
})();

// --- kernel limits -------------------------------------------------------------------------

const sysctlLog: C10kResults['limits']['sysctl'] = [];
const restore: { name: string; value: string }[] = [];

/** Raise a sysctl to at least `wanted` (never lower it); recorded for the results and restored. */
function raiseSysctl(name: string, wanted: number): void {
  const before = capture('sysctl', ['-n', name]);
  if (before === '' || Number(before) >= wanted || flags['no-sysctl']) {
    sysctlLog.push({
      name,
      before,
      after: before,
      wanted: String(wanted),
      ok: Number(before) >= wanted,
    });
    return;
  }
  const r = spawnSync('sysctl', ['-q', '-w', `${name}=${wanted}`], { encoding: 'utf8' });
  const after = capture('sysctl', ['-n', name]);
  const ok = r.status === 0 && Number(after) >= wanted;
  if (ok) restore.push({ name, value: before });
  else
    log(
      `could not set ${name}=${wanted} (${(r.stderr ?? '').trim() || 'refused'}); it stays ${after}`,
    );
  sysctlLog.push({ name, before, after, wanted: String(wanted), ok });
}

function restoreSysctls(): void {
  for (const { name, value } of restore.splice(0))
    spawnSync('sysctl', ['-q', '-w', `${name}=${value}`]);
}

// --- servers -------------------------------------------------------------------------------

const BACKLOG = 65535;

interface ServerInfo {
  label: string;
  notes: string;
}

const SERVER_INFO: Record<ServerName, ServerInfo> = {
  rapid: {
    label: 'Rapid',
    notes:
      'bench/app.ts (serve(), default limits, keepAliveTimeout 75 s) as --workers processes via ' +
      'bench/peers/cluster.mjs: SO_REUSEPORT where Node has it, else the cluster module ' +
      '(round-robin); backlog 65535.',
  },
  nginx: {
    label: 'nginx',
    notes:
      'nginx, --workers worker processes, `listen … reuseport backlog=65535`, worker_connections ' +
      '19000, worker_rlimit_nofile = the hard limit, access_log off, keepalive_timeout 75 s, ' +
      'keepalive_requests unlimited, `return 200 "Hello, World!"`.',
  },
  'node-http': {
    label: 'node:http',
    notes:
      'bench/peers/node-http.mjs (keepAliveTimeout 75 s) as --workers processes via ' +
      'bench/peers/cluster.mjs, like Rapid; backlog 65535.',
  },
};

interface Started {
  running: Running;
  port: number;
  command: string;
}

function nginxConf(dir: string, port: number): string {
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `# Generated by bench/c10k.ts for one run.
worker_processes ${opts.workers};
worker_rlimit_nofile ${NOFILE.hard};
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
${process.getuid?.() === 0 ? 'user root;' : ''}
events { worker_connections ${Math.min(19000, NOFILE.hard - 100)}; }
http {
  access_log off;
  keepalive_timeout 75s;
  keepalive_requests 100000000;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen ${opts.host}:${port} reuseport backlog=${BACKLOG};
    location = /plaintext { default_type text/plain; return 200 "Hello, World!"; }
  }
}
`,
  );
  return conf;
}

/**
 * Start `name` as several processes sharing one port: the one place that knows how. When `rapid
 * --workers N` exists, Rapid's branch can become that command.
 */
async function startServer(name: ServerName, tmp: string, sched: 'rr' | 'none'): Promise<Started> {
  const port = await freePort(opts.host);
  const env = {
    CLUSTER_SCHED: sched,
    PORT: String(port),
    HOST: opts.host,
    BACKLOG: String(BACKLOG),
    WORKERS: String(opts.workers),
    NODE_ENV: 'production',
  };
  let command: string;
  let args: string[];
  if (name === 'nginx') {
    const dir = join(tmp, `nginx-${port}`);
    mkdirSync(dir, { recursive: true });
    command = 'nginx';
    args = ['-e', join(dir, 'error.log'), '-p', dir, '-c', nginxConf(dir, port)];
  } else {
    const script =
      name === 'rapid' ? join(distBench, 'app.js') : join(root, 'bench', 'peers', 'node-http.mjs');
    command = process.execPath;
    args = [join(root, 'bench', 'peers', 'cluster.mjs'), script];
  }
  const running =
    opts.serverCpu === ''
      ? startPinned('0-' + String(os.cpus().length - 1), command, args, env, root)
      : startPinned(opts.serverCpu, command, args, env, root);
  const shown = `${name === 'nginx' ? '' : `WORKERS=${opts.workers} BACKLOG=${BACKLOG} CLUSTER_SCHED=${sched} `}${
    opts.serverCpu === '' ? '' : `taskset -c ${opts.serverCpu} `
  }${command === process.execPath ? 'node' : command} ${args.map(rel).join(' ')}`;
  await waitUntilUp(running, opts.host, port, '/plaintext', 30_000);
  if (name !== 'nginx') {
    // Every worker must listen before the load starts, not just the first one.
    const deadline = Date.now() + 30_000;
    while (!/cluster ready/.test(running.output())) {
      if (running.exited || Date.now() > deadline)
        throw new Error(`${name} workers did not all start:\n${running.output()}`);
      await sleep(100);
    }
  }
  return { running, port, command: shown };
}

/** RSS of a process tree in bytes (VmRSS of each process). */
function rssOf(rootPid: number): number {
  let sum = 0;
  for (const pid of processTree(rootPid)) {
    try {
      const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
      if (m !== null) sum += Number(m[1]) * 1024;
    } catch {
      // exited in between
    }
  }
  return sum;
}

/**
 * Sample (4 times a second) the number of open fds of each process of the server's tree; stop()
 * gives the largest any one process had, which is what RLIMIT_NOFILE bounds.
 */
function sampleFds(rootPid: number): { stop(): number } {
  let peak = 0;
  const sample = (): void => {
    for (const pid of processTree(rootPid)) {
      try {
        peak = Math.max(peak, readdirSync(`/proc/${pid}/fd`).length);
      } catch {
        // exited in between
      }
    }
  };
  sample();
  const timer = setInterval(sample, 250);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}

/** CPU ticks used so far by the server's process tree (workers included). */
function serverTicks(srv: Started): number {
  return cpuTicks(processTree(srv.running.pid));
}

/** ESTABLISHED TCP sockets whose local end is the server's address and port. */
function establishedOn(port: number): number | null {
  // By address too: a client socket bound to 127.0.0.x may have got the same port number.
  const r = spawnSync('ss', ['-Htn', 'state', 'established', 'src', `${opts.host}:${port}`], {
    encoding: 'latin1',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.status !== 0) return null;
  return r.stdout.split('\n').filter((l) => l.trim() !== '').length;
}

// --- clients -------------------------------------------------------------------------------

interface ClientProc {
  child: ChildProcess;
  messages: { type: string; open?: number; stats?: ClientStats }[];
  waiters: (() => void)[];
  exited: boolean;
}

function startClients(jobs: ClientJob[]): ClientProc[] {
  const script = join(distBench, 'lib', 'c10k-client.js');
  return jobs.map((job) => {
    const execArgv = ['--max-old-space-size=2048'];
    const child =
      opts.clientCpu === ''
        ? fork(script, [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
        : fork(script, [], {
            execArgv,
            stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
            // taskset pins the client like wrk in the suite; fork() has no exec wrapper, so pin after.
          });
    if (opts.clientCpu !== '' && child.pid !== undefined)
      spawnSync('taskset', ['-a', '-p', '-c', opts.clientCpu, String(child.pid)], {
        stdio: 'ignore',
      });
    const p: ClientProc = { child, messages: [], waiters: [], exited: false };
    child.on('message', (m: ClientProc['messages'][number]) => {
      p.messages.push(m);
      for (const w of p.waiters.splice(0)) w();
    });
    child.on('exit', () => {
      p.exited = true;
      for (const w of p.waiters.splice(0)) w();
    });
    child.send({ type: 'start', job });
    return p;
  });
}

/** Wait until every client sent a message of `type` (or exited, or the deadline passed). */
async function allSent(procs: ClientProc[], type: string, deadline: number): Promise<boolean> {
  for (const p of procs) {
    while (!p.messages.some((m) => m.type === type)) {
      if (p.exited || Date.now() > deadline) return false;
      await Promise.race([new Promise<void>((r) => p.waiters.push(r)), sleep(1000)]);
    }
  }
  return true;
}

/** Why a wait for the clients ended early. */
function cutOff(procs: ClientProc[], deadline: number): string {
  const gone = procs.filter((p) => p.exited && !p.messages.some((m) => m.type === 'done')).length;
  if (gone > 0) return `${gone} client processes exited without reporting`;
  return Date.now() > deadline
    ? `run cut off after ${opts.maxMs / 1000} s`
    : 'clients did not finish';
}

function sumOpen(procs: ClientProc[], type: string): number {
  return procs.reduce((a, p) => a + (p.messages.find((m) => m.type === type)?.open ?? 0), 0);
}

function collect(procs: ClientProc[]): ClientStats {
  const all: ClientStats[] = [];
  for (const p of procs) {
    const done = p.messages.find((m) => m.type === 'done');
    if (done?.stats !== undefined) all.push(done.stats);
  }
  return mergeStats(all);
}

function killClients(procs: ClientProc[]): void {
  for (const p of procs) if (!p.exited) p.child.kill('SIGKILL');
}

function runFromStats(
  server: ServerName,
  test: C10kTest,
  concurrency: number,
  requests: number,
  s: ClientStats,
  seconds: number,
  extra: Partial<C10kRun>,
): C10kRun {
  const counted = s.ok + failures(s);
  const notSent = Math.max(0, requests - counted);
  const kinds: Record<string, number> = {
    connect: s.connectErrors,
    reset: s.resets,
    closed: s.closed,
    timeout: s.timeouts,
    non200: s.non200,
    other: s.other,
    dropped: s.dropped,
    unanswered: notSent,
  };
  return {
    server,
    test,
    concurrency,
    requests,
    ok: s.ok,
    failures: failures(s) + notSent,
    failureKinds: kinds,
    peakOpen: s.peakOpen,
    serverEstablished: null,
    seconds,
    reqPerSec: s.ok / seconds,
    p50Ms: percentile(s.latencyMs, 50),
    p99Ms: percentile(s.latencyMs, 99),
    maxMs: percentile(s.latencyMs, 100),
    ...(s.connectMs === undefined ? {} : { connectP99Ms: percentile(s.connectMs, 99) }),
    ...(s.closeMs === undefined ? {} : { closeP99Ms: percentile(s.closeMs, 99) }),
    rssBefore: null,
    rssHeld: null,
    rssPerConnection: null,
    clients: 0,
    sourceAddresses: 0,
    command: '',
    samples: s.samples,
    ...extra,
  };
}

const clientCmd = (mode: string, conns: number, reqs: number, clients: number): string =>
  `${clients} × node dist/bench/lib/c10k-client.js (mode ${mode}, ${conns} connections, ` +
  `${reqs} requests in all, source addresses 127.0.0.x)`;

async function loadTest(
  srv: Started,
  name: ServerName,
  mode: 'keepalive' | 'close',
): Promise<C10kRun> {
  const n = opts.clients;
  const conns = split(opts.concurrency, n);
  // One source address per 5,000 connections at most: each holds ~28k ephemeral ports.
  const per = Math.max(1, Math.ceil(Math.max(...conns) / 5000));
  const addrs = sourceAddresses(n, per);
  const jobs: ClientJob[] = conns.map((c, i) => ({
    host: opts.host,
    port: srv.port,
    path: '/plaintext',
    localAddresses: addrs[i]!,
    connections: c,
    // Each connection (keepalive) or loop (close) does its share of the requests.
    requests: Math.ceil(opts.requests / opts.concurrency),
    mode,
    timeoutMs: opts.timeoutMs,
    connectConcurrency: 1000,
  }));
  const requests = jobs.reduce((a, j) => a + j.connections * j.requests, 0);
  const deadline = Date.now() + opts.maxMs;
  const cpu0 = serverTicks(srv);
  const procs = startClients(jobs);
  try {
    const ready = await allSent(procs, 'ready', deadline);
    const open = sumOpen(procs, 'ready');
    const established = mode === 'keepalive' ? establishedOn(srv.port) : null;
    if (mode === 'keepalive')
      log(`${name}: ${open} connections open, ${established ?? '?'} established on the server`);
    const t0 = performance.now();
    for (const p of procs) if (!p.exited) p.child.send({ type: 'go' });
    const done = ready && (await allSent(procs, 'done', deadline));
    const seconds = (performance.now() - t0) / 1000;
    const serverCpuSeconds = (serverTicks(srv) - cpu0) / CLK_TCK;
    const s = collect(procs);
    if (!done) s.samples.push(cutOff(procs, deadline));
    return runFromStats(name, mode, opts.concurrency, requests, s, seconds, {
      serverCpuSeconds,
      serverEstablished: established,
      clients: n,
      sourceAddresses: n * per,
      command: clientCmd(mode, opts.concurrency, requests, n),
    });
  } finally {
    killClients(procs);
  }
}

async function idleTest(srv: Started, name: ServerName): Promise<C10kRun> {
  const n = opts.idleClients;
  const conns = split(opts.idle, n);
  const per = Math.max(1, Math.ceil(Math.max(...conns) / 5000));
  const addrs = sourceAddresses(n, per, 100);
  const jobs: ClientJob[] = conns.map((c, i) => ({
    host: opts.host,
    port: srv.port,
    path: '/plaintext',
    localAddresses: addrs[i]!,
    connections: c,
    requests: 1,
    mode: 'idle',
    timeoutMs: opts.timeoutMs,
    connectConcurrency: 1000,
  }));
  // Baseline: warmed up (a few hundred requests), the garbage of start-up settled.
  const warm = startClients([{ ...jobs[0]!, connections: 200, requests: 1, mode: 'close' }]);
  await allSent(warm, 'ready', Date.now() + 30_000);
  for (const p of warm) p.child.send({ type: 'go' });
  await allSent(warm, 'done', Date.now() + 60_000);
  killClients(warm);
  await sleep(2000);
  const rssBefore = rssOf(srv.running.pid);
  const deadline = Date.now() + opts.maxMs;
  const t0 = performance.now();
  const procs = startClients(jobs);
  try {
    const holding = await allSent(procs, 'holding', deadline);
    const seconds = (performance.now() - t0) / 1000;
    const open = sumOpen(procs, 'holding');
    // Let the servers settle (finish writes, free per-request garbage), then read.
    await sleep(3000);
    const established = establishedOn(srv.port);
    const rssHeld = rssOf(srv.running.pid);
    log(
      `${name}: ${open} idle connections held (${established ?? '?'} on the server), RSS ${(rssBefore / 2 ** 20).toFixed(0)} -> ${(rssHeld / 2 ** 20).toFixed(0)} MiB`,
    );
    for (const p of procs) if (!p.exited) p.child.send({ type: 'release' });
    await allSent(procs, 'done', Date.now() + 60_000);
    const s = collect(procs);
    if (!holding) s.samples.push(cutOff(procs, deadline));
    const held = established ?? open;
    return runFromStats(name, 'idle', opts.idle, opts.idle, s, seconds, {
      peakOpen: open,
      serverEstablished: established,
      rssBefore,
      rssHeld,
      rssPerConnection: held > 0 ? (rssHeld - rssBefore) / held : null,
      clients: n,
      sourceAddresses: n * per,
      command: clientCmd('idle', opts.idle, opts.idle, n),
    });
  } finally {
    killClients(procs);
  }
}

async function abTest(srv: Started, name: ServerName): Promise<C10kRun> {
  const c = opts.abConcurrency;
  const url = `http://${opts.host}:${srv.port}/plaintext`;
  const args = [
    '-r',
    '-q',
    '-n',
    String(opts.requests),
    '-c',
    String(c),
    '-s',
    String(opts.timeoutMs / 1000),
    url,
  ];
  const cmd = [...(opts.clientCpu === '' ? [] : ['taskset', '-c', opts.clientCpu]), 'ab', ...args];
  const t0 = performance.now();
  const cpu0 = serverTicks(srv);
  const text = await new Promise<string>((resolve) => {
    const child = spawn(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.maxMs);
    child.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
  const seconds = (performance.now() - t0) / 1000;
  const serverCpuSeconds = (serverTicks(srv) - cpu0) / CLK_TCK;
  const r = parseAbOutput(text);
  const base = {
    serverCpuSeconds,
    server: name,
    test: 'ab' as const,
    concurrency: c,
    requests: opts.requests,
    peakOpen: c,
    serverEstablished: null,
    rssBefore: null,
    rssHeld: null,
    rssPerConnection: null,
    clients: 1,
    sourceAddresses: 1,
    command: cmd.map((a) => (a === url ? 'http://127.0.0.1:{port}/plaintext' : a)).join(' '),
  };
  if (r === null) {
    const last = text.trim().split('\n').slice(-2).join(' ').slice(0, 200);
    return {
      ...base,
      ok: 0,
      failures: opts.requests,
      failureKinds: { aborted: opts.requests },
      seconds,
      reqPerSec: NaN,
      p50Ms: NaN,
      p99Ms: NaN,
      maxMs: NaN,
      samples: [`ab gave no report: ${last}`],
    };
  }
  const unanswered = Math.max(0, opts.requests - r.complete);
  return {
    ...base,
    ok: r.complete - r.failed - r.non2xx,
    failures: r.failed + r.non2xx + unanswered,
    failureKinds: { ...r.failedBreakdown, non2xx: r.non2xx, unanswered },
    seconds: r.seconds,
    reqPerSec: r.reqPerSec,
    p50Ms: r.p50Ms,
    p99Ms: r.p99Ms,
    maxMs: r.maxMs,
    samples: [],
  };
}

// --- main ----------------------------------------------------------------------------------

let current: Running | null = null;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    log(`${sig}: stopping`);
    restoreSysctls();
    void (current === null ? Promise.resolve() : stop(current)).then(() => process.exit(130));
  });
}

async function main(): Promise<void> {
  if (flags.report !== undefined) {
    const file = resolve(flags.report);
    const res = JSON.parse(readFileSync(file, 'utf8')) as C10kResults;
    writeFileSync(file.replace(/\.json$/, '.md'), c10kMarkdown(res));
    spawnSync(
      join(root, 'node_modules', '.bin', 'prettier'),
      ['--write', file.replace(/\.json$/, '.md')],
      {
        stdio: 'ignore',
      },
    );
    console.log(c10kVerdict(res));
    return;
  }
  const tools: Tool[] = [TOOLS.taskset, TOOLS.ss];
  if (tests.includes('ab')) tools.push(TOOLS.ab);
  if (servers.includes('nginx')) tools.push(TOOLS.nginx);
  const missing = ensureInstalled({
    root,
    tools,
    npm: false,
    noInstall: flags['no-install'] === true,
    log,
  });
  const active = servers.filter((s) => !(s === 'nginx' && missing.includes('nginx')));
  const activeTests = tests.filter((t) => !(t === 'ab' && missing.includes('ab')));
  const notes: string[] = [];
  for (const s of servers) if (!active.includes(s)) notes.push(`${s} skipped: not installed.`);
  if (activeTests.length < tests.length) notes.push('ab skipped: not installed.');

  const perProcess = Math.max(
    opts.concurrency / opts.clients,
    opts.idle / opts.idleClients,
    opts.idle / opts.workers,
    opts.concurrency / opts.workers,
  );
  if (perProcess > NOFILE.soft - 200) {
    console.error(
      `one process would hold ${Math.ceil(perProcess)} sockets but RLIMIT_NOFILE is ${NOFILE.soft}: ` +
        'use more --clients, --idle-clients or --workers',
    );
    process.exit(2);
  }
  if (opts.abConcurrency > NOFILE.soft - 20) {
    console.error(
      `--ab-concurrency ${opts.abConcurrency} does not fit ab's RLIMIT_NOFILE ${NOFILE.soft}`,
    );
    process.exit(2);
  }

  // Room for 20k connects arriving at once: accept queue and SYN queue.
  raiseSysctl('net.core.somaxconn', BACKLOG);
  raiseSysctl('net.ipv4.tcp_max_syn_backlog', BACKLOG);

  const tmp = mkdtempSync(join(os.tmpdir(), 'rapid-c10k-'));
  const started = new Date();
  const runs: C10kRun[] = [];
  const commands = new Map<ServerName, string>();
  try {
    for (const test of activeTests) {
      for (const name of active) {
        log(`${test} ${name}: starting ${opts.workers} processes`);
        const srv = await startServer(name, tmp, schedFor(test));
        const fds = sampleFds(srv.running.pid);
        current = srv.running;
        commands.set(name, srv.command);
        let run: C10kRun | undefined;
        try {
          if (test === 'idle') run = await idleTest(srv, name);
          else if (test === 'ab') run = await abTest(srv, name);
          else run = await loadTest(srv, name, test);
          if (srv.running.exited) {
            run.failures = Math.max(run.failures, 1);
            run.samples.push(`server exited: ${srv.running.output().slice(-300)}`);
          }
        } finally {
          const peakFds = fds.stop();
          if (run !== undefined) run.serverPeakFds = peakFds;
          await stop(srv.running, 10_000);
          current = null;
        }
        // BENCH_DIAG=1 (bench/app.ts): what each worker saw of its connections.
        for (const line of srv.running.output().split('\n')) {
          if (line.startsWith('diag ')) {
            log(`${test} ${name} ${line}`);
            run.samples.push(line);
          }
        }
        log(
          `${test} ${name}: ${run.ok} ok, ${run.failures} failures, ` +
            `at most ${run.serverPeakFds} fds in one server process` +
            (run.failures > 0
              ? ` ${JSON.stringify(run.failureKinds)} ${run.samples.join('; ')}`
              : '') +
            `, ${run.seconds.toFixed(1)} s` +
            (run.connectP99Ms === undefined
              ? ''
              : `, connect p99 ${run.connectP99Ms.toFixed(0)} ms`) +
            (run.closeP99Ms === undefined
              ? ''
              : `, close wait p99 ${run.closeP99Ms.toFixed(0)} ms`) +
            (run.rssPerConnection === null
              ? ''
              : `, ${(run.rssPerConnection / 1024).toFixed(1)} KiB/conn`),
        );
        runs.push(run);
        // Let TIME_WAIT and the last FINs of the previous run drain a little.
        await sleep(2000);
      }
    }
  } finally {
    restoreSysctls();
    rmSync(tmp, { recursive: true, force: true });
  }

  if (activeTests.includes('ab')) {
    notes.push(
      `ab runs as one process, so it holds its ${opts.abConcurrency} sockets under the same ` +
        `RLIMIT_NOFILE of ${NOFILE.soft} as everything else (plus its own stdio and the ` +
        `listening-socket probe); \`ab -c 20000\` cannot fit, so this is the closest that does. ` +
        '-r keeps ab going after a receive error so that errors are counted instead of aborting ' +
        'the run.',
    );
  }
  notes.push(
    'RSS is the sum of VmRSS over the server’s process tree (primary + workers, or nginx master + ' +
      'workers); kernel socket buffers are not in it. Per connection = (RSS held − RSS before) / ' +
      'connections established on the server.',
  );
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  const rev = capture('git', ['rev-parse', '--short', 'HEAD'], root);
  const versions: Record<string, string> = {
    node: process.version,
    rapid: `${pkg.version}${rev === '' ? '' : ` (${rev})`}`,
  };
  if (active.includes('nginx'))
    versions.nginx = capture('nginx', ['-v']).replace(/^nginx version: /, '');
  if (activeTests.includes('ab'))
    versions.ab = (capture('ab', ['-V']).split('\n')[0] ?? '').replace(/^This is /, '');
  const results: C10kResults = {
    label: opts.label,
    date: started.toISOString(),
    machine: machineInfo(),
    versions,
    config: {
      concurrency: opts.concurrency,
      requests: opts.requests,
      clients: opts.clients,
      idle: opts.idle,
      idleClients: opts.idleClients,
      workers: opts.workers,
      abConcurrency: opts.abConcurrency,
      timeoutSeconds: opts.timeoutMs / 1000,
      maxSecondsPerRun: opts.maxMs / 1000,
      serverCpu: opts.serverCpu === '' ? 'any' : opts.serverCpu,
      clientCpu: opts.clientCpu === '' ? 'any' : opts.clientCpu,
      command:
        `flock /tmp/rapid-bench.lock npm run bench:c10k -- ${process.argv.slice(2).join(' ')}`.trim(),
    },
    limits: { nofileSoft: NOFILE.soft, nofileHard: NOFILE.hard, sysctl: sysctlLog },
    servers: active.map((s) => ({
      name: s,
      label: SERVER_INFO[s].label,
      workers: opts.workers,
      notes: SERVER_INFO[s].notes,
      command: commands.get(s) ?? '',
    })),
    runs,
    notes,
  };
  let base = flags.out;
  if (base === undefined)
    base = join(root, 'bench', 'results', `${started.toISOString().slice(0, 10)}-${opts.label}`);
  else base = resolve(base).replace(/\.(md|json)$/, '');
  mkdirSync(dirname(base), { recursive: true });
  writeFileSync(`${base}.json`, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(`${base}.md`, c10kMarkdown(results));
  const prettier = join(root, 'node_modules', '.bin', 'prettier');
  spawnSync(prettier, ['--write', `${base}.md`, `${base}.json`], { stdio: 'ignore' });
  console.log(c10kVerdict(results));
  console.log(`wrote ${rel(base)}.md and ${rel(base)}.json`);
  const rapidFailed = runs.some((r) => r.server === 'rapid' && r.failures > 0);
  process.exitCode = rapidFailed ? 1 : 0;
}

main().catch(async (err: unknown) => {
  console.error(err);
  restoreSysctls();
  if (current !== null) await stop(current);
  process.exit(1);
});
