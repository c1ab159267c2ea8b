/**
 * The benchmark suite: `npm run bench [-- flags]`. Starts each server pinned to one core, drives
 * it with wrk pinned to the other, and writes bench/results/<date>-<label>.{md,json} plus the
 * chart bench/results/latest.svg. See bench/README.md for the method and the fairness notes.
 *
 *   --servers rapid,node-http,...   (default: all that are installed)
 *   --scenarios plaintext,json,pipeline,noka,static1k,static64k
 *   --duration 5 --reps 3 --warmup 2 --connections 64 --threads 1 --depth 16
 *   --server-cpu 0 --client-cpu 1 --order interleaved|sequential
 *   --label suite --out <file>   (base name; .md and .json are written next to each other)
 *   --max-foreign 10 --retries 3   (a run during which other processes used more than 10% of a
 *                                   core is thrown away and done again, up to 3 times)
 *   --no-install   (do not apt-get/npm install missing tools)
 *   --no-publish   (do not write latest.svg or update README tables)
  --no-tls       (skip the HTTPS/HTTP/2 part that follows a full run: bench/tls.ts, h2load)
 *   --publish-only <results.json>   (no runs: rewrite its .md, latest.svg and the README tables)
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { renderChart } from './chart.js';
import {
  capture,
  cpuTicks,
  CLK_TCK,
  freePort,
  probe,
  processTree,
  cpuStat,
  foreignTicks,
  snapshotTicks,
  startPinned,
  stop,
  waitUntilUp,
  type Running,
} from './lib/proc.js';
import { ensureInstalled, TOOLS, type Tool } from './lib/install.js';
import { machineInfo } from './lib/machine.js';
import { printUsage } from './lib/usage.js';
import { comparisonsMarkdown, summaryMarkdown, toMarkdown, toText } from './lib/report.js';
import { findPackageRoot } from '../src/util/package-root.js';
import {
  DEFAULT_BASELINE,
  DEFAULT_SCENARIOS,
  SCENARIOS,
  STATIC_SIZES,
  type ScenarioSpec,
  type WrkOptions,
} from './lib/scenarios.js';
import { SERVERS, type Context, type ServerSpec } from './lib/servers.js';
import { median, spread } from './lib/stats.js';
import type { ResultRow, Results, Skipped } from './lib/types.js';
import { errorCount, runWrk, type WrkResult } from './lib/wrk.js';

const { values: flags } = parseArgs({
  options: {
    servers: { type: 'string' },
    scenarios: { type: 'string' },
    duration: { type: 'string', default: '5' },
    reps: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '2' },
    connections: { type: 'string', default: '64' },
    threads: { type: 'string', default: '1' },
    depth: { type: 'string', default: '16' },
    'server-cpu': { type: 'string', default: '0' },
    'client-cpu': { type: 'string', default: '1' },
    host: { type: 'string', default: '127.0.0.1' },
    order: { type: 'string', default: 'interleaved' },
    label: { type: 'string', default: 'suite' },
    out: { type: 'string' },
    'max-foreign': { type: 'string', default: '10' },
    retries: { type: 'string', default: '3' },
    'no-install': { type: 'boolean', default: false },
    'no-publish': { type: 'boolean', default: false },
    'no-tls': { type: 'boolean', default: false },
    'publish-only': { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

if (flags.help) {
  printUsage(import.meta.url);
  process.exit(0);
}

function int(name: string, v: string | undefined, min: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) {
    console.error(`--${name} must be an integer >= ${min}`);
    process.exit(2);
  }
  return n;
}

const opts = {
  duration: int('duration', flags.duration, 1),
  reps: int('reps', flags.reps, 1),
  warmup: int('warmup', flags.warmup, 0),
  connections: int('connections', flags.connections, 1),
  threads: int('threads', flags.threads, 1),
  depth: int('depth', flags.depth, 1),
  serverCpu: flags['server-cpu']!,
  clientCpu: flags['client-cpu']!,
  host: flags.host!,
  order: flags.order === 'sequential' ? ('sequential' as const) : ('interleaved' as const),
  label: flags.label!.replace(/[^\w.-]+/g, '-'),
  maxForeign: int('max-foreign', flags['max-foreign'], 0),
  retries: int('retries', flags.retries, 0),
};

const root = findPackageRoot(import.meta.url);
const distBench = dirname(fileURLToPath(import.meta.url));
const rel = (p: string): string => relative(root, p) || '.';
const log = (msg: string): void => console.error(`[bench] ${msg}`);

function pick<T extends { name: string }>(
  all: readonly T[],
  list: string | undefined,
  what: string,
): T[] {
  if (list === undefined) return [...all];
  const names = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const out: T[] = [];
  for (const n of names) {
    const found = all.find((x) => x.name === n);
    if (found === undefined) {
      console.error(`unknown ${what} "${n}"; known: ${all.map((x) => x.name).join(', ')}`);
      process.exit(2);
    }
    out.push(found);
  }
  return out;
}

const servers = pick(SERVERS, flags.servers, 'server');
const scenarios = pick(SCENARIOS, flags.scenarios ?? DEFAULT_SCENARIOS.join(','), 'scenario');

// --- tools ---------------------------------------------------------------------------------

/** Install what is missing (Debian packages as root, bench's npm peers), unless --no-install. */
function ensureTools(): void {
  const wanted = new Set(servers.map((s) => s.name));
  // ab and h2load are not used by these scenarios but by bench:c10k and the HTTPS/HTTP/2 runs:
  // one `npm run bench` on a fresh machine leaves every benchmark ready.
  const tools: Tool[] = [TOOLS.wrk, TOOLS.taskset, TOOLS.ab, TOOLS.h2load, TOOLS.ss];
  if (wanted.has('nginx')) tools.push(TOOLS.nginx);
  if (wanted.has('h2o')) tools.push(TOOLS.h2o);
  const npmPeers = ['fastify', 'express', 'hono', 'bun', 'rapid-fetch', 'hono-fetch'];
  const missing = ensureInstalled({
    root,
    tools,
    npm: servers.some((s) => npmPeers.includes(s.name)),
    noInstall: flags['no-install'] === true,
    log,
  });
  for (const need of [TOOLS.wrk, TOOLS.taskset]) {
    if (missing.includes(need.bin)) {
      console.error(`${need.bin} is required (apt-get install ${need.pkg})`);
      process.exit(1);
    }
  }
}

/** Whether `spec` runs in `sc`: a dedicated scenario names its servers, a dedicated server its scenarios. */
function takesPart(spec: ServerSpec, sc: ScenarioSpec): boolean {
  return sc.servers === undefined ? spec.dedicated !== true : sc.servers.includes(spec.name);
}

// --- instances -----------------------------------------------------------------------------

interface Instance {
  key: string;
  spec: ServerSpec;
  port: number;
  running: Running;
  command: string;
  failed: string | null;
}

const instances = new Map<string, Instance>();

async function ensureInstance(ctx: Context, spec: ServerSpec, sc: ScenarioSpec): Promise<Instance> {
  const variant = spec.variant?.(sc) ?? '';
  const key = `${spec.name}:${variant}`;
  const have_ = instances.get(key);
  if (have_ !== undefined) return have_;
  const port = await freePort(ctx.host);
  const l = spec.launch(ctx, port, variant);
  const running = startPinned(opts.serverCpu, l.command, l.args, l.env, root);
  const envText = Object.entries(l.env)
    .filter(([k]) => k !== 'STATIC_ROOT' && k !== 'NODE_ENV')
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const cmd = [l.command === process.execPath ? 'node' : l.command, ...l.args.map(rel)].join(' ');
  const inst: Instance = {
    key,
    spec,
    port,
    running,
    command: `${envText === '' ? '' : `${envText} `}taskset -c ${opts.serverCpu} ${cmd}`,
    failed: null,
  };
  instances.set(key, inst);
  try {
    await waitUntilUp(running, ctx.host, port, sc.path);
  } catch (err) {
    inst.failed = (err as Error).message;
  }
  return inst;
}

async function stopAll(keys?: Iterable<string>): Promise<void> {
  const list = keys === undefined ? [...instances.keys()] : [...keys];
  await Promise.all(
    list.map(async (k) => {
      const inst = instances.get(k);
      if (inst === undefined) return;
      instances.delete(k);
      await stop(inst.running);
    }),
  );
}

let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (stopping) process.exit(130);
    stopping = true;
    log(`${sig}: stopping servers`);
    void stopAll().then(() => process.exit(130));
  });
}

// --- measuring -----------------------------------------------------------------------------

interface Measured {
  wrk: WrkResult;
  serverCpu: number;
  /** CPU used by other processes on the machine during the run, % of one core. */
  foreignCpu: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function measure(
  ctx: Context,
  inst: Instance,
  sc: ScenarioSpec,
  seconds: number,
): Promise<Measured> {
  const url = `http://${ctx.host}:${inst.port}${sc.path}`;
  const wopts: WrkOptions = { ...wrkBase, duration: seconds };
  const pids = processTree(inst.running.pid);
  const all0 = snapshotTicks();
  const st0 = cpuStat();
  const t0 = process.hrtime.bigint();
  const c0 = cpuTicks(pids);
  const wrk = await runWrk(opts.clientCpu, sc.wrkArgs(url, wopts), root);
  const c1 = cpuTicks(pids);
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const st1 = cpuStat();
  const all1 = snapshotTicks();
  if (inst.running.exited)
    throw new Error(`server exited during the run:\n${inst.running.output()}`);
  // Two views of interference, the larger counts. Per process: CPU of every other process that
  // is still alive at the end. Per core: what the two pinned cores did beyond the server's and
  // wrk's own time, plus hypervisor steal; this also sees short-lived processes (test runs,
  // compilers) that the per-process view misses.
  const ours = new Set([...pids, wrk.pid, process.pid]);
  const perProcess = foreignTicks(all0, all1, ours);
  let perCore = 0;
  const sCpu = Number(opts.serverCpu);
  const cCpu = Number(opts.clientCpu);
  if (Number.isInteger(sCpu) && Number.isInteger(cCpu) && st0[sCpu] && st0[cCpu]) {
    const d = (i: number) => ({
      busy: st1[i]!.busy - st0[i]!.busy,
      steal: st1[i]!.steal - st0[i]!.steal,
    });
    const s = d(sCpu);
    const c = d(cCpu);
    perCore =
      Math.max(0, s.busy - (c1 - c0)) + s.steal + Math.max(0, c.busy - wrk.clientTicks) + c.steal;
  }
  return {
    wrk,
    serverCpu: (100 * (c1 - c0)) / CLK_TCK / wall,
    foreignCpu: (100 * Math.max(perProcess, perCore)) / CLK_TCK / wall,
  };
}

/** Wait (up to `maxMs`) until the machine is quiet: both cores under 10% busy over 300 ms. */
async function waitQuiet(maxMs: number): Promise<void> {
  const deadline = Date.now() + maxMs;
  for (;;) {
    const busy = await cpuBusy(300);
    if (busy.every((b) => b < 10) || Date.now() > deadline) return;
  }
}

const wrkBase: Omit<WrkOptions, 'duration'> = {
  connections: opts.connections,
  threads: opts.threads,
  depth: opts.depth,
  scripts: join(root, 'bench', 'wrk'),
};

/** Busy % of each CPU over `ms` (from /proc/stat), to warn when something else loads the box. */
async function cpuBusy(ms: number): Promise<number[]> {
  const read = (): number[][] =>
    readFileSync('/proc/stat', 'latin1')
      .split('\n')
      .filter((l) => /^cpu\d+ /.test(l))
      .map((l) => l.split(/\s+/).slice(1).map(Number));
  const a = read();
  await sleep(ms);
  const b = read();
  return b.map((row, i) => {
    const d = row.map((v, j) => v - (a[i]?.[j] ?? 0));
    const total = d.reduce((x, y) => x + y, 0);
    const idle = (d[3] ?? 0) + (d[4] ?? 0);
    return total > 0 ? (100 * (total - idle)) / total : 0;
  });
}

// --- main ----------------------------------------------------------------------------------

async function main(): Promise<void> {
  if (flags['publish-only'] !== undefined) {
    const file = resolve(flags['publish-only']);
    const results = JSON.parse(readFileSync(file, 'utf8')) as Results;
    const base = file.replace(/\.json$/, '');
    // The Markdown is derived data: rewrite it with the current report code.
    writeFileSync(`${base}.md`, toMarkdown(results));
    publish(results, base);
    return;
  }
  ensureTools();
  const tmp = mkdtempSync(join(os.tmpdir(), 'rapid-bench-'));
  // Readable by servers that drop privileges (nginx's and h2o's workers).
  chmodSync(tmp, 0o755);
  mkdirSync(join(tmp, 'static'));
  for (const [name, size] of [
    ['1k.bin', STATIC_SIZES.static1k],
    ['64k.bin', STATIC_SIZES.static64k],
  ] as const) {
    // Deterministic, incompressible-looking bytes (no server here compresses .bin anyway).
    const buf = Buffer.alloc(size);
    let x = 0x12345678;
    for (let i = 0; i < size; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      buf[i] = x >>> 24;
    }
    writeFileSync(join(tmp, 'static', name), buf);
  }
  const ctx: Context = { root, distBench, tmp, host: opts.host };
  const started = new Date();
  const skipped: Skipped[] = [];
  const notes: string[] = [];

  const busy = await cpuBusy(1000);
  if (busy.some((b) => b > 15)) {
    const text = busy.map((b, i) => `CPU ${i} ${b.toFixed(0)}%`).join(', ');
    log(`warning: the machine is busy before the run (${text}); results will be noisy`);
    notes.push(`The machine was busy before the run started (${text}): expect noise.`);
  }

  const active: ServerSpec[] = [];
  for (const s of servers) {
    const why = s.unavailable(ctx);
    if (why === null) active.push(s);
    else {
      skipped.push({ server: s.name, scenario: null, reason: why });
      log(`skipping ${s.name}: ${why}`);
    }
  }

  const rows: ResultRow[] = [];
  let retried = 0;
  let noisyKept = 0;
  const commands = new Map<string, string>();
  const scenarioCommands = new Map<string, string>();

  for (let si = 0; si < scenarios.length; si++) {
    const sc = scenarios[si]!;
    scenarioCommands.set(
      sc.name,
      [
        'taskset',
        '-c',
        opts.clientCpu,
        'wrk',
        ...sc.wrkArgs('{url}', { ...wrkBase, duration: opts.duration }),
      ]
        .map((a) => (a.includes(' ') ? `'${a}'` : a.startsWith('/') ? rel(a) : a))
        .join(' '),
    );
    // Who takes part: started, answering, and answering this scenario correctly.
    const parts: Instance[] = [];
    for (const spec of active) {
      if (!takesPart(spec, sc)) continue;
      const skip = spec.skips?.(sc) ?? null;
      if (skip !== null) {
        skipped.push({ server: spec.name, scenario: sc.name, reason: skip });
        continue;
      }
      const inst = await ensureInstance(ctx, spec, sc);
      commands.set(spec.name, inst.command);
      if (inst.failed !== null) {
        skipped.push({
          server: spec.name,
          scenario: sc.name,
          reason: `did not start: ${inst.failed}`,
        });
        log(`${spec.name} did not start: ${inst.failed}`);
        continue;
      }
      let why: string | null;
      try {
        why = sc.verify(await probe(ctx.host, inst.port, sc.path));
      } catch (err) {
        why = `probe failed: ${(err as Error).message}`;
      }
      if (why !== null) {
        skipped.push({ server: spec.name, scenario: sc.name, reason: why });
        log(`${spec.name} skips ${sc.name}: ${why}`);
        continue;
      }
      parts.push(inst);
    }

    const runs = new Map<Instance, Measured[]>(parts.map((p) => [p, []]));
    const broken = new Set<Instance>();
    const once = async (inst: Instance, seconds: number, keep: boolean): Promise<void> => {
      if (broken.has(inst)) return;
      try {
        for (let attempt = 0; ; attempt++) {
          await waitQuiet(30_000);
          const m = await measure(ctx, inst, sc, seconds);
          // In a closed loop one side is always the bottleneck: when neither the server nor wrk
          // got near a full core, something else had the CPU even if no process shows it.
          const starved = m.serverCpu < 85 && m.wrk.clientCpu < 85;
          const noisy = m.foreignCpu > opts.maxForeign || starved;
          const again = noisy && keep && attempt < opts.retries;
          log(
            `${sc.name} ${inst.spec.name}${keep ? '' : ' (warm-up)'}: ` +
              `${m.wrk.reqPerSec.toFixed(0)} req/s, p99 ${(m.wrk.latencyUs.p99 / 1000).toFixed(2)} ms, ` +
              `server CPU ${m.serverCpu.toFixed(0)}%, wrk CPU ${m.wrk.clientCpu.toFixed(0)}%` +
              (m.foreignCpu >= 1 ? `, other processes ${m.foreignCpu.toFixed(0)}%` : '') +
              (starved ? ', neither side saturated' : '') +
              (errorCount(m.wrk) > 0 ? `, ${errorCount(m.wrk)} errors` : '') +
              (again ? ' (noisy: again)' : noisy && keep ? ' (noisy: kept, out of retries)' : ''),
          );
          if (!keep) break;
          if (again) {
            retried++;
            continue;
          }
          if (noisy) noisyKept++;
          runs.get(inst)!.push(m);
          break;
        }
      } catch (err) {
        broken.add(inst);
        skipped.push({ server: inst.spec.name, scenario: sc.name, reason: (err as Error).message });
        log(`${sc.name} ${inst.spec.name} failed: ${(err as Error).message}`);
      }
      await sleep(300);
    };

    if (opts.order === 'interleaved') {
      // Every server gets its warm-up, then the repetitions go round-robin (starting one server
      // later each time), so drift on a noisy machine spreads over all servers alike.
      if (opts.warmup > 0) for (const inst of parts) await once(inst, opts.warmup, false);
      for (let rep = 0; rep < opts.reps; rep++) {
        for (let i = 0; i < parts.length; i++) {
          await once(parts[(i + rep) % parts.length]!, opts.duration, true);
        }
      }
    } else {
      for (const inst of parts) {
        if (opts.warmup > 0) await once(inst, opts.warmup, false);
        for (let rep = 0; rep < opts.reps; rep++) await once(inst, opts.duration, true);
      }
    }

    for (const inst of parts) {
      const ms = runs.get(inst)!;
      if (ms.length === 0 || broken.has(inst)) continue;
      const p99s = ms.map((m) => m.wrk.latencyUs.p99 / 1000);
      const totalRequests = ms.reduce((a, m) => a + m.wrk.requests, 0);
      const totalBytes = ms.reduce((a, m) => a + m.wrk.bytes, 0);
      rows.push({
        server: inst.spec.name,
        scenario: sc.name,
        reqPerSec: spread(ms.map((m) => m.wrk.reqPerSec)),
        // wrk's percentile reads 0 when its coordinated-omission correction put samples outside
        // its histogram's range (it happens with pipelining): no p99 rather than a wrong one.
        p99Ms: p99s.some((p) => p <= 0) ? null : spread(p99s),
        p50Ms: spread(ms.map((m) => m.wrk.latencyUs.p50 / 1000)),
        serverCpu: median(ms.map((m) => m.serverCpu)),
        foreignCpu: median(ms.map((m) => m.foreignCpu)),
        clientCpu: median(ms.map((m) => m.wrk.clientCpu)),
        bytesPerResponse: totalRequests > 0 ? totalBytes / totalRequests : 0,
        errors: ms.reduce((a, m) => a + errorCount(m.wrk), 0),
        ratioToNodeHttp: null,
      });
    }

    // Stop instances no later scenario uses (bare-net's per-scenario variants).
    const later = new Set<string>();
    for (const next of scenarios.slice(si + 1)) {
      for (const spec of active) {
        if (takesPart(spec, next)) later.add(`${spec.name}:${spec.variant?.(next) ?? ''}`);
      }
    }
    await stopAll([...instances.keys()].filter((k) => !later.has(k)));
  }
  await stopAll();
  rmSync(tmp, { recursive: true, force: true });

  for (const r of rows) {
    const baseline = scenarios.find((s) => s.name === r.scenario)?.baseline ?? DEFAULT_BASELINE;
    const base = rows.find((x) => x.scenario === r.scenario && x.server === baseline);
    r.ratioToNodeHttp = base === undefined ? null : r.reqPerSec.median / base.reqPerSec.median;
  }
  for (const r of rows) {
    if (r.errors > 0)
      notes.push(`${r.server} / ${r.scenario}: ${r.errors} socket errors or non-2xx responses.`);
  }
  if (retried > 0 || noisyKept > 0) {
    notes.push(
      `${retried} runs were repeated because other processes used more than ${opts.maxForeign}% ` +
        'of a core during them, or neither the server nor wrk reached 85% of its core' +
        (noisyKept > 0 ? `; ${noisyKept} noisy runs were kept after ${opts.retries} retries` : '') +
        '.',
    );
  }
  if (rows.some((r) => r.clientCpu >= 90 && r.serverCpu < 85)) {
    notes.push(
      'Rows marked wrk-bound measure the load generator: one wrk thread on one core could not ' +
        'saturate that server, so its true capacity is higher than shown.',
    );
  }

  const versions: Record<string, string> = {
    node: process.version,
    wrk: (capture('wrk', ['-v']).split('\n')[0] ?? '').replace(/ Copyright.*$/, ''),
  };
  for (const s of active) versions[s.name] = s.version(ctx);

  const results: Results = {
    label: opts.label,
    date: started.toISOString(),
    machine: machineInfo(),
    versions,
    config: {
      duration: opts.duration,
      reps: opts.reps,
      warmup: opts.warmup,
      connections: opts.connections,
      threads: opts.threads,
      pipelineDepth: opts.depth,
      serverCpu: opts.serverCpu,
      clientCpu: opts.clientCpu,
      order: opts.order,
    },
    servers: active
      .filter((s) => commands.has(s.name))
      .map((s) => ({
        name: s.name,
        label: s.label,
        version: versions[s.name]!,
        notes: s.notes,
        command: commands.get(s.name)!,
      })),
    scenarios: scenarios.map((s) => ({
      name: s.name,
      label: s.label,
      description: s.description,
      command: scenarioCommands.get(s.name)!,
      ...(s.baseline === undefined ? {} : { baseline: s.baseline }),
    })),
    results: rows,
    skipped,
    notes,
  };

  let base = flags.out;
  if (base === undefined) {
    base = join(root, 'bench', 'results', `${started.toISOString().slice(0, 10)}-${opts.label}`);
  } else {
    base = resolve(base).replace(/\.(md|json)$/, '');
  }
  mkdirSync(dirname(base), { recursive: true });
  writeFileSync(`${base}.json`, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(`${base}.md`, toMarkdown(results));
  console.log(toText(results));
  console.log(`\nwrote ${rel(base)}.md and ${rel(base)}.json`);

  if (!flags['no-publish']) publish(results, base);

  // HTTPS and HTTP/2 (h2load against nginx and Node's own https/http2): bench/tls.ts, same
  // pinning and repetitions, its own results file. Skipped when the run was narrowed to some
  // servers or scenarios, or with --no-tls.
  if (!flags['no-tls'] && flags.servers === undefined && flags.scenarios === undefined) {
    const tls = join(root, 'dist', 'bench', 'tls.js');
    console.log('\n[bench] HTTPS and HTTP/2: node dist/bench/tls.js');
    const r = spawnSync(
      process.execPath,
      [tls, '--duration', String(opts.duration), '--rounds', String(opts.reps)],
      { stdio: 'inherit', cwd: root },
    );
    if (r.status !== 0) console.error(`[bench] the HTTPS/HTTP/2 benchmark failed (${r.status})`);
  }
}

/** Write results/latest.svg and refresh the README tables between the bench markers. */
function publish(results: Results, base: string): void {
  const svg = join(root, 'bench', 'results', 'latest.svg');
  writeFileSync(svg, renderChart(results));
  console.log(`wrote ${rel(svg)}`);
  // README tables between <!-- bench:start --> and <!-- bench:end --> follow the latest run.
  for (const readme of [join(root, 'README.md'), join(root, 'bench', 'README.md')]) {
    if (!existsSync(readme)) continue;
    const text = readFileSync(readme, 'utf8');
    // The markers must stand alone on their lines (prose may mention them in backticks).
    const re = /^(<!-- bench:start -->)$[\s\S]*?^(<!-- bench:end -->)$/m;
    if (!re.test(text)) continue;
    const link = relative(dirname(readme), `${base}.md`);
    const comparisons = comparisonsMarkdown(results);
    const block =
      `\n${summaryMarkdown(results)}\n\n` +
      (comparisons === '' ? '' : `${comparisons}\n\n`) +
      `${results.date.slice(0, 10)}, ${results.machine.nproc} cores (${results.machine.cpuModel}); ` +
      `median of ${results.config.reps} × ${results.config.duration} s; full results: [${link}](${link}).\n`;
    writeFileSync(readme, text.replace(re, `$1${block}$2`));
    // Keep `npm run lint` (prettier --check) green: let prettier align the new table.
    const prettier = join(root, 'node_modules', '.bin', 'prettier');
    if (existsSync(prettier)) spawnSync(prettier, ['--write', readme], { stdio: 'ignore' });
    console.log(`updated the table in ${rel(readme)}`);
  }
}

main().catch(async (err: unknown) => {
  console.error(err);
  await stopAll();
  process.exit(1);
});
