/** The results as Markdown (bench/results/*.md) and as the table printed at the end of a run. */
import type { Results, ResultRow } from './types.js';
import { relativeSpread } from './stats.js';

export function fmtRate(n: number): string {
  if (!Number.isFinite(n)) return '—';
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return n.toFixed(0);
}

function fmtMs(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '—';
  return n >= 10 ? n.toFixed(1) : n.toFixed(2);
}

function fmtPct(n: number): string {
  return Number.isFinite(n) ? `${n.toFixed(0)}%` : '—';
}

/**
 * A short verdict on what limited a run: the load generator at ~100% of its core while the server
 * had CPU to spare means the number is wrk's ceiling, not the server's.
 */
export function bottleneck(r: ResultRow): string {
  if (r.clientCpu >= 90 && r.serverCpu < 85) return 'wrk-bound';
  if (r.serverCpu >= 85) return '';
  return 'neither core saturated';
}

function rowsOf(res: Results, scenario: string): ResultRow[] {
  return res.results
    .filter((r) => r.scenario === scenario)
    .sort((a, b) => b.reqPerSec.median - a.reqPerSec.median);
}

function labelOf(res: Results, server: string): string {
  return res.servers.find((s) => s.name === server)?.label ?? server;
}

export const TABLE_HEADER = [
  'server',
  'req/s (median)',
  'min – max',
  'spread',
  'p99 ms',
  'server CPU',
  'wrk CPU',
  'other CPU',
  'B/resp',
  'errors',
  '× base',
];

export function tableRows(res: Results, scenario: string): string[][] {
  return rowsOf(res, scenario).map((r) => [
    labelOf(res, r.server),
    fmtRate(r.reqPerSec.median),
    `${fmtRate(r.reqPerSec.min)} – ${fmtRate(r.reqPerSec.max)}`,
    `${(100 * relativeSpread(r.reqPerSec)).toFixed(1)}%`,
    r.p99Ms === null ? 'n/a' : fmtMs(r.p99Ms.median),
    fmtPct(r.serverCpu) + (bottleneck(r) === '' ? '' : ` (${bottleneck(r)})`),
    fmtPct(r.clientCpu),
    r.foreignCpu === undefined ? '—' : fmtPct(r.foreignCpu),
    r.bytesPerResponse.toFixed(0),
    String(r.errors),
    r.ratioToNodeHttp === null ? '—' : `${r.ratioToNodeHttp.toFixed(2)}×`,
  ]);
}

/** A Markdown table; numeric tables right-align every column but the first. */
function mdTable(header: string[], rows: string[][], numeric = true): string {
  const esc = (c: string): string => c.replace(/\|/g, '\\|');
  return [
    `| ${header.map(esc).join(' | ')} |`,
    `| ${header.map((_, i) => (i === 0 || !numeric ? '---' : '---:')).join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

/** The baseline of a scenario's ratios (node-http unless the scenario names another). */
export function baselineOf(res: Results, scenario: string): string {
  return res.scenarios.find((s) => s.name === scenario)?.baseline ?? 'node-http';
}

/**
 * The compact summary table (one row per server, one column per scenario), for READMEs. Scenarios
 * with their own baseline (dedicated comparisons) are left to comparisonsMarkdown().
 */
export function summaryMarkdown(res: Results): string {
  const scenarios = res.scenarios.filter(
    (s) => s.baseline === undefined && res.results.some((r) => r.scenario === s.name),
  );
  const servers = res.servers.filter((s) =>
    res.results.some((r) => r.server === s.name && scenarios.some((sc) => sc.name === r.scenario)),
  );
  const header = ['req/s (× node:http)', ...scenarios.map((s) => s.label)];
  const rows = servers.map((srv) => [
    srv.label,
    ...scenarios.map((sc) => {
      const r = res.results.find((x) => x.server === srv.name && x.scenario === sc.name);
      if (r === undefined) return '—';
      const ratio = r.ratioToNodeHttp === null ? '' : ` (${r.ratioToNodeHttp.toFixed(2)}×)`;
      return `${fmtRate(r.reqPerSec.median)}${ratio}`;
    }),
  ]);
  return mdTable(header, rows);
}

/**
 * One small table per dedicated comparison (a scenario with its own baseline): server, req/s and
 * the ratio to that baseline. Empty when the run had none.
 */
export function comparisonsMarkdown(res: Results): string {
  const out: string[] = [];
  for (const sc of res.scenarios) {
    if (sc.baseline === undefined) continue;
    const rows = rowsOf(res, sc.name);
    if (rows.length === 0) continue;
    const base = labelOf(res, sc.baseline);
    out.push(
      mdTable(
        [`${sc.label}`, 'req/s', `× ${base}`],
        rows.map((r) => [
          labelOf(res, r.server),
          fmtRate(r.reqPerSec.median),
          r.ratioToNodeHttp === null ? '—' : `${r.ratioToNodeHttp.toFixed(2)}×`,
        ]),
      ),
    );
  }
  return out.join('\n\n');
}

export function toMarkdown(res: Results): string {
  const c = res.config;
  const out: string[] = [];
  out.push(`# Rapid benchmark: ${res.label}, ${res.date.slice(0, 10)}`);
  out.push('');
  out.push(
    `Machine: ${res.machine.nproc} cores (${res.machine.cpuModel}), ` +
      `${res.machine.memoryGiB.toFixed(0)} GiB, Linux ${res.machine.kernel}. ` +
      `Servers pinned to CPU ${c.serverCpu}, wrk to CPU ${c.clientCpu} (taskset). ` +
      `Each number is the median of ${c.reps} runs of ${c.duration} s after a ${c.warmup} s warm-up, ` +
      `${c.connections} connections, ${c.threads} wrk thread, servers ${c.order === 'interleaved' ? 'interleaved within each repetition' : 'run one after another'}. ` +
      `Started ${res.date}.`,
  );
  out.push('');
  out.push('## Summary');
  out.push('');
  out.push(summaryMarkdown(res));
  const comparisons = comparisonsMarkdown(res);
  if (comparisons !== '') {
    out.push('');
    out.push(comparisons);
  }
  for (const sc of res.scenarios) {
    const rows = tableRows(res, sc.name);
    if (rows.length === 0) continue;
    out.push('');
    out.push(`## ${sc.label}`);
    out.push('');
    out.push(`${sc.description} \`${sc.command}\``);
    out.push('');
    out.push(`× base: the ratio to ${labelOf(res, baselineOf(res, sc.name))} in this run.`);
    out.push('');
    out.push(mdTable(TABLE_HEADER, rows));
  }
  out.push('');
  out.push(
    'Columns: spread = (max − min) / median of the runs; p99 is wrk’s (coordinated-omission',
  );
  out.push(
    'corrected) and "n/a" where wrk cannot give one (its correction breaks with pipelining);',
  );
  out.push('CPU is % of one core over the measured runs (wrk-bound: the load generator, not the');
  out.push(
    'server, was the limit; other CPU: other processes on the machine during the runs, runs',
  );
  out.push('over the --max-foreign threshold are repeated); B/resp = bytes read / responses.');
  out.push('');
  out.push('## Servers');
  out.push('');
  out.push(
    mdTable(
      ['server', 'version', 'configuration', 'command'],
      res.servers.map((s) => [s.label, s.version, s.notes, `\`${s.command}\``]),
      false,
    ),
  );
  out.push('');
  out.push('## Versions');
  out.push('');
  out.push(
    mdTable(
      ['tool', 'version'],
      Object.entries(res.versions).map(([k, v]) => [k, v]),
      false,
    ),
  );
  if (res.skipped.length > 0) {
    out.push('');
    out.push('## Skipped');
    out.push('');
    for (const s of res.skipped) {
      out.push(`- ${s.server}${s.scenario === null ? '' : ` / ${s.scenario}`}: ${s.reason}`);
    }
  }
  if (res.notes.length > 0) {
    out.push('');
    out.push('## Notes');
    out.push('');
    for (const n of res.notes) out.push(`- ${n}`);
  }
  out.push('');
  return out.join('\n');
}

/** A plain-text table for the terminal. */
export function toText(res: Results): string {
  const out: string[] = [];
  for (const sc of res.scenarios) {
    const rows = tableRows(res, sc.name);
    if (rows.length === 0) continue;
    const all = [TABLE_HEADER, ...rows];
    const widths = TABLE_HEADER.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
    out.push(`\n${sc.label}`);
    for (const r of all) {
      out.push(
        r
          .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
          .join('  '),
      );
    }
  }
  return out.join('\n');
}
