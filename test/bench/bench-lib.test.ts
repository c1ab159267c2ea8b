/**
 * The benchmark suite's own logic (bench/lib, bench/chart): reading wrk's output, the statistics,
 * the reports and the chart. The suite itself is not run here (it needs wrk and minutes).
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { renderChart } from '../../bench/chart.js';
import { probe } from '../../bench/lib/proc.js';
import { summaryMarkdown, toMarkdown, toText } from '../../bench/lib/report.js';
import { SCENARIOS } from '../../bench/lib/scenarios.js';
import { median, spread } from '../../bench/lib/stats.js';
import type { Results } from '../../bench/lib/types.js';
import { errorCount, parseWrkOutput, parseWrkProse } from '../../bench/lib/wrk.js';

const WRK_PROSE = `Running 5s test @ http://127.0.0.1:8080/plaintext
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   515.57us  174.86us   3.38ms   85.78%
    Req/Sec   122.18k     8.67k  128.01k    90.48%
  Latency Distribution
     50%  469.00us
     75%  497.00us
     90%  799.00us
     99%    1.04ms
  254746 requests in 2.10s, 31.34MB read
  Socket errors: connect 0, read 3, write 0, timeout 1
  Non-2xx or 3xx responses: 5
Requests/sec: 121323.74
Transfer/sec:     14.93MB
`;

describe('wrk output', () => {
  it('reads the WRK_JSON line of bench/wrk/report.lua', () => {
    const r = parseWrkOutput(
      `${WRK_PROSE}WRK_JSON {"duration_us":2000000,"requests":300000,"bytes":39000000,` +
        `"errors":{"connect":0,"read":1,"write":0,"status":2,"timeout":0},` +
        `"latency_us":{"min":30,"mean":557.8,"max":25376,"p50":383,"p90":559,"p99":3137}}\n`,
    );
    assert.equal(r.requests, 300000);
    assert.equal(r.reqPerSec, 150000);
    assert.equal(r.bytes, 39000000);
    assert.equal(r.latencyUs.p99, 3137);
    assert.equal(errorCount(r), 3);
  });

  it('falls back to the prose output', () => {
    const r = parseWrkProse(WRK_PROSE);
    assert.equal(r.requests, 254746);
    assert.equal(r.reqPerSec, 121323.74);
    assert.equal(r.durationSec, 2.1);
    assert.equal(r.latencyUs.p50, 469);
    assert.equal(r.latencyUs.p99, 1040);
    assert.equal(r.latencyUs.max, 3380);
    assert.equal(r.errors.read, 3);
    assert.equal(r.errors.timeout, 1);
    assert.equal(r.errors.status, 5);
  });

  it('rejects output without numbers', () => {
    assert.throws(() => parseWrkOutput('unable to connect to 127.0.0.1:1 Connection refused'));
  });
});

describe('statistics', () => {
  it('takes medians of odd and even counts', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.ok(Number.isNaN(median([])));
  });

  it('keeps the runs in order with min and max', () => {
    assert.deepEqual(spread([5, 1, 3]), { median: 3, min: 1, max: 5, runs: [5, 1, 3] });
  });
});

function sample(): Results {
  const s = (v: number) => spread([v * 0.95, v, v * 1.05]);
  const row = (server: string, scenario: string, rps: number, ratio: number | null) => ({
    server,
    scenario,
    reqPerSec: s(rps),
    p99Ms: scenario === 'pipeline' ? null : s(2),
    p50Ms: s(1),
    serverCpu: 99,
    clientCpu: 80,
    foreignCpu: 0,
    bytesPerResponse: 130,
    errors: 0,
    ratioToNodeHttp: ratio,
  });
  return {
    label: 'test <&>',
    date: '2026-11-22T06:00:00.000Z',
    machine: { nproc: 2, cpuModel: 'AMD EPYC', memoryGiB: 24, kernel: '6.1' },
    versions: { node: 'v20.20.2', wrk: 'wrk 4.1.0' },
    config: {
      duration: 5,
      reps: 3,
      warmup: 2,
      connections: 64,
      threads: 1,
      pipelineDepth: 16,
      serverCpu: '0',
      clientCpu: '1',
      order: 'interleaved',
    },
    servers: [
      { name: 'rapid', label: 'Rapid', version: '0.1.0', notes: 'n', command: 'node a|b' },
      { name: 'node-http', label: 'node:http', version: 'v20', notes: 'n', command: 'node c' },
    ],
    scenarios: SCENARIOS.filter((x) => x.name === 'plaintext' || x.name === 'pipeline').map(
      (x) => ({ name: x.name, label: x.label, description: x.description, command: 'wrk …' }),
    ),
    results: [
      row('rapid', 'plaintext', 110000, 1.4),
      row('node-http', 'plaintext', 78000, 1),
      row('rapid', 'pipeline', 650000, 6.5),
      row('node-http', 'pipeline', 100000, 1),
    ],
    skipped: [{ server: 'bun', scenario: null, reason: 'not installed' }],
    notes: ['a note'],
  };
}

describe('reports', () => {
  it('writes Markdown with a table per scenario, escaped pipes and the skipped list', () => {
    const md = toMarkdown(sample());
    assert.match(md, /^# Rapid benchmark: test <&>, 2026-11-22/);
    assert.match(md, /## plaintext\n/);
    assert.match(md, /\| Rapid \| 110\.0k \| 104\.5k – 115\.5k \| 10\.0% \| 2\.00 \|/);
    assert.match(md, /\| n\/a \|/, 'pipelined p99 is n/a');
    assert.match(md, /`node a\\\|b`/);
    assert.match(md, /- bun: not installed/);
    assert.match(md, /1\.40×/);
  });

  it('summarizes one row per server and prints a text table', () => {
    const sum = summaryMarkdown(sample());
    assert.match(sum, /\| Rapid \| 110\.0k \(1\.40×\) \| 650\.0k \(6\.50×\) \|/);
    assert.match(toText(sample()), /Rapid\s+110\.0k/);
  });

  it('draws an SVG with a bar per result and escaped text', () => {
    const svg = renderChart(sample());
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.match(svg, /<\/svg>\n$/);
    assert.equal((svg.match(/<rect x="120"/g) ?? []).length, 4);
    assert.match(svg, /test &lt;&amp;&gt;/);
    assert.ok(!svg.includes('test <&>'));
  });
});

describe('health probe', () => {
  it('reads a length-delimited answer and sees whether the server closes', async () => {
    const server = net.createServer((s) => {
      s.once('data', () => {
        s.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhel');
        setTimeout(() => s.end('lo'), 20);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const p = await probe('127.0.0.1', port, '/x');
      assert.equal(p.status, 200);
      assert.equal(p.body.toString(), 'hello');
      assert.equal(p.headers['connection'], 'close');
      assert.equal(p.closedByServer, true);
    } finally {
      server.close();
    }
  });

  it('does not wait for a keep-alive server to close', async () => {
    const sockets: net.Socket[] = [];
    const server = net.createServer((s) => {
      sockets.push(s);
      s.once('data', () => s.write('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n'));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const p = await probe('127.0.0.1', port, '/');
      assert.equal(p.status, 404);
      assert.equal(p.closedByServer, false);
      const v = SCENARIOS.find((x) => x.name === 'plaintext')!.verify(p);
      assert.equal(v, 'status 404');
    } finally {
      for (const s of sockets) s.destroy();
      server.close();
    }
  });
});
