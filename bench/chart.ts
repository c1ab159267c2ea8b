/**
 * An SVG bar chart of a results file, written by hand (no dependencies): one panel per scenario,
 * one bar per server (median req/s) with a whisker for the min–max of the runs, and the ratio to
 * node:http (or the scenario’s own baseline) beside it. Each panel has its own scale, since pipelined numbers are ten times the
 * others. bench/run.ts writes bench/results/latest.svg with it; by hand:
 *     node dist/bench/chart.js bench/results/<file>.json [out.svg]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fmtRate } from './lib/report.js';
import type { Results } from './lib/types.js';

const WIDTH = 860;
const LABEL_W = 120;
const VALUE_W = 150;
const BAR_AREA = WIDTH - LABEL_W - VALUE_W - 20;
const ROW_H = 22;
const BAR_H = 14;
const PANEL_GAP = 18;
const TITLE_H = 22;

function esc(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

function colorOf(server: string): string {
  switch (server) {
    case 'rapid':
      return '#d9480f';
    case 'node-http':
      return '#868e96';
    case 'bare-net':
      return '#ced4da';
    case 'nginx':
    case 'h2o':
      return '#2b8a3e';
    default:
      return '#1971c2';
  }
}

export function renderChart(res: Results): string {
  const panels = res.scenarios
    .map((sc) => ({
      sc,
      rows: res.servers
        .map((srv) => ({
          srv,
          r: res.results.find((x) => x.scenario === sc.name && x.server === srv.name),
        }))
        .filter((x) => x.r !== undefined),
    }))
    .filter((p) => p.rows.length > 0);

  const parts: string[] = [];
  let y = 40;
  for (const { sc, rows } of panels) {
    const top = Math.max(...rows.map((x) => x.r!.reqPerSec.max), 1);
    parts.push(
      `<text x="10" y="${y + 15}" class="title">${esc(sc.label)}</text>` +
        `<text x="${WIDTH - 10}" y="${y + 15}" class="small" text-anchor="end">requests/s, median of ${res.config.reps} runs (whisker: min–max)</text>`,
    );
    y += TITLE_H;
    for (const { srv, r } of rows) {
      const row = r!;
      const w = (BAR_AREA * row.reqPerSec.median) / top;
      const x0 = LABEL_W;
      const cy = y + ROW_H / 2;
      const wMin = x0 + (BAR_AREA * row.reqPerSec.min) / top;
      const wMax = x0 + (BAR_AREA * row.reqPerSec.max) / top;
      const ratio = row.ratioToNodeHttp === null ? '' : ` (${row.ratioToNodeHttp.toFixed(2)}×)`;
      const bold = srv.name === 'rapid' ? ' bold' : '';
      parts.push(
        `<text x="${LABEL_W - 8}" y="${cy + 4}" class="label${bold}" text-anchor="end">${esc(srv.label)}</text>` +
          `<rect x="${x0}" y="${cy - BAR_H / 2}" width="${w.toFixed(1)}" height="${BAR_H}" fill="${colorOf(srv.name)}" rx="2"/>` +
          `<line x1="${wMin.toFixed(1)}" x2="${wMax.toFixed(1)}" y1="${cy}" y2="${cy}" class="whisker"/>` +
          `<line x1="${wMin.toFixed(1)}" x2="${wMin.toFixed(1)}" y1="${cy - 4}" y2="${cy + 4}" class="whisker"/>` +
          `<line x1="${wMax.toFixed(1)}" x2="${wMax.toFixed(1)}" y1="${cy - 4}" y2="${cy + 4}" class="whisker"/>` +
          `<text x="${(Math.max(wMax, x0 + w) + 6).toFixed(1)}" y="${cy + 4}" class="value${bold}">${esc(fmtRate(row.reqPerSec.median) + ratio)}</text>`,
      );
      y += ROW_H;
    }
    y += PANEL_GAP;
  }
  const m = res.machine;
  const footer =
    `${res.date.slice(0, 10)} · ${m.nproc} cores ${m.cpuModel} · server on CPU ${res.config.serverCpu}, ` +
    `wrk on CPU ${res.config.clientCpu} · ${res.config.connections} connections · ${res.config.duration} s × ${res.config.reps}`;
  const height = y + 20;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="${esc(`Rapid benchmark ${res.label}`)}">
<style>
text { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; fill: #212529; }
.h { font-size: 16px; font-weight: 600; }
.title { font-size: 13px; font-weight: 600; }
.label, .value { font-size: 12px; }
.small { font-size: 11px; fill: #495057; }
.bold { font-weight: 700; }
.whisker { stroke: #212529; stroke-width: 1; }
</style>
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="10" y="24" class="h">${esc(`Rapid vs peers: ${res.label}`)}</text>
${parts.join('\n')}
<text x="10" y="${height - 8}" class="small">${esc(footer)}</text>
</svg>
`;
}

// CLI: node dist/bench/chart.js <results.json> [out.svg]
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [input, output] = process.argv.slice(2);
  if (input === undefined) {
    console.error('usage: node dist/bench/chart.js <results.json> [out.svg]');
    process.exit(2);
  }
  const svg = renderChart(JSON.parse(readFileSync(input, 'utf8')) as Results);
  if (output === undefined) process.stdout.write(svg);
  else writeFileSync(output, svg);
}
