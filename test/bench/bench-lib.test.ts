/**
 * The benchmark suite's own logic (bench/lib, bench/chart): reading wrk's output, the statistics,
 * the reports and the chart. The suite itself is not run here (it needs wrk and minutes).
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { renderChart } from '../../bench/chart.js';
import { probe } from '../../bench/lib/proc.js';
import { fork } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import {
  c10kMarkdown,
  c10kVerdict,
  emptyStats,
  failures,
  mergeStats,
  parseAbOutput,
  parseResponseHead,
  percentile,
  sourceAddresses,
  split,
  type C10kResults,
  type C10kRun,
  type ClientStats,
} from '../../bench/lib/c10k.js';
import type { ClientJob } from '../../bench/lib/c10k-client.js';
import { missingPackages, TOOLS } from '../../bench/lib/install.js';
import {
  comparisonsMarkdown,
  summaryMarkdown,
  toMarkdown,
  toText,
} from '../../bench/lib/report.js';
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

describe('dedicated comparisons', () => {
  function withRoutes(): Results {
    const res = sample();
    const routes = SCENARIOS.find((x) => x.name === 'routes')!;
    res.servers.push({
      name: 'rapid-routes',
      label: 'Rapid app, 1,000 routes',
      version: '0.1.0',
      notes: 'n',
      command: 'node a',
    });
    res.scenarios.push({
      name: routes.name,
      label: routes.label,
      description: routes.description,
      command: 'wrk …',
      baseline: 'rapid',
    });
    const base = res.results[0]!;
    res.results.push(
      { ...base, scenario: 'routes', reqPerSec: spread([120000]), ratioToNodeHttp: 1 },
      {
        ...base,
        server: 'rapid-routes',
        scenario: 'routes',
        reqPerSec: spread([114000]),
        ratioToNodeHttp: 0.95,
      },
    );
    return res;
  }

  it('keeps scenarios with their own baseline out of the summary and tables them apart', () => {
    const res = withRoutes();
    const sum = summaryMarkdown(res);
    assert.ok(!sum.includes('1,000 routes'), sum);
    assert.ok(!sum.includes('Rapid app'), 'a dedicated server gets no summary row');
    const cmp = comparisonsMarkdown(res);
    assert.match(cmp, /\| 1,000 routes \| req\/s \| × Rapid \|/);
    assert.match(cmp, /\| Rapid app, 1,000 routes \| 114\.0k \| 0\.95× \|/);
    assert.equal(comparisonsMarkdown(sample()), '');
    const md = toMarkdown(res);
    assert.match(md, /× base: the ratio to Rapid in this run\./);
    assert.match(md, /× base: the ratio to node:http in this run\./);
  });

  it('names its servers and baselines in the scenario list', () => {
    const routes = SCENARIOS.find((x) => x.name === 'routes')!;
    const fetchSc = SCENARIOS.find((x) => x.name === 'fetch')!;
    assert.deepEqual(routes.servers, ['rapid', 'rapid-routes']);
    assert.equal(routes.baseline, 'rapid');
    assert.equal(fetchSc.baseline, 'hono-fetch');
    const ok = {
      status: 200,
      headers: {},
      body: Buffer.from('{"id":"42"}'),
      closedByServer: false,
    };
    assert.equal(fetchSc.verify(ok), null);
    assert.equal(fetchSc.verify({ ...ok, body: Buffer.from('{"id":"7"}') }), 'wrong JSON body');
    assert.equal(fetchSc.verify({ ...ok, status: 404 }), 'status 404');
  });
});

describe('installer', () => {
  it('lists the Debian package of each missing tool once', () => {
    const present = (bin: string) => bin === 'wrk';
    assert.deepEqual(
      missingPackages([TOOLS.wrk, TOOLS.ab, TOOLS.h2load, TOOLS.ab, TOOLS.nginx], present),
      ['apache2-utils', 'nghttp2-client', 'nginx-light'],
    );
    assert.deepEqual(missingPackages([TOOLS.wrk], present), []);
  });
});

describe('c10k: response heads', () => {
  it('reads status, Content-Length and Connection', () => {
    const buf = Buffer.from(
      'HTTP/1.1 200 OK\r\nContent-Length: 13\r\nConnection: keep-alive\r\n\r\nHello, World!',
    );
    assert.deepEqual(parseResponseHead(buf), {
      status: 200,
      contentLength: 13,
      close: false,
      headBytes: buf.length - 13,
    });
    const close = parseResponseHead(
      Buffer.from('HTTP/1.1 503 Busy\r\ncontent-length: 0\r\nconnection: Close\r\n\r\n'),
    );
    assert.equal(typeof close === 'object' && close?.close, true);
    const h10 = parseResponseHead(Buffer.from('HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx'));
    assert.equal(typeof h10 === 'object' && h10?.close, true, 'HTTP/1.0 without keep-alive');
  });

  it('waits for the blank line and names what it cannot read', () => {
    assert.equal(parseResponseHead(Buffer.from('HTTP/1.1 200 OK\r\nContent-Le')), null);
    assert.equal(parseResponseHead(Buffer.from('x'.repeat(100)), 50), 'response head too large');
    assert.match(String(parseResponseHead(Buffer.from('SSH-2.0\r\n\r\n'))), /bad status line/);
    assert.equal(
      parseResponseHead(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n')),
      'bad Content-Length',
    );
    assert.equal(
      parseResponseHead(
        Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n'),
      ),
      'conflicting Content-Length',
    );
    assert.match(
      String(
        parseResponseHead(Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n')),
      ),
      /chunked/,
    );
  });
});

const AB_OUTPUT = `This is ApacheBench, Version 2.3 <$Revision$>

Concurrency Level:      19000
Time taken for tests:   9.120 seconds
Complete requests:      100000
Failed requests:        7
   (Connect: 0, Receive: 3, Length: 4, Exceptions: 0)
Non-2xx responses:      2
Requests per second:    10964.91 [#/sec] (mean)

Percentage of the requests served within a certain time (ms)
  50%    612
  66%    700
  99%   3101
 100%   7215 (longest request)
`;

describe('c10k: counting', () => {
  it('reads ab’s report, and nothing from an aborted ab', () => {
    const r = parseAbOutput(AB_OUTPUT)!;
    assert.equal(r.complete, 100000);
    assert.equal(r.failed, 7);
    assert.deepEqual(r.failedBreakdown, { connect: 0, receive: 3, length: 4, exceptions: 0 });
    assert.equal(r.non2xx, 2);
    assert.equal(r.reqPerSec, 10964.91);
    assert.equal(r.seconds, 9.12);
    assert.equal(r.p50Ms, 612);
    assert.equal(r.p99Ms, 3101);
    assert.equal(r.maxMs, 7215);
    assert.equal(parseAbOutput('apr_socket_connect(): Connection refused (111)\n'), null);
  });

  it('adds up the client processes and every kind of failure', () => {
    const a: ClientStats = {
      ...emptyStats(),
      ok: 10,
      resets: 1,
      closed: 2,
      peakOpen: 5,
      latencyMs: [1, 2],
    };
    const b: ClientStats = {
      ...emptyStats(),
      ok: 5,
      timeouts: 2,
      connectErrors: 1,
      non200: 1,
      other: 1,
      dropped: 1,
      peakOpen: 7,
      latencyMs: [3],
      samples: ['x'],
    };
    const m = mergeStats([a, b]);
    assert.equal(m.ok, 15);
    assert.equal(m.peakOpen, 12);
    assert.deepEqual(m.latencyMs, [1, 2, 3]);
    assert.deepEqual(m.samples, ['x']);
    assert.equal(m.closed, 2);
    assert.equal(failures(m), 9);
  });

  it('splits work and source addresses', () => {
    assert.deepEqual(split(10, 3), [4, 3, 3]);
    assert.equal(
      split(20000, 4).reduce((x, y) => x + y, 0),
      20000,
    );
    assert.deepEqual(sourceAddresses(2, 2), [
      ['127.0.0.2', '127.0.0.3'],
      ['127.0.0.4', '127.0.0.5'],
    ]);
    assert.deepEqual(sourceAddresses(1, 2, 255), [['127.0.0.255', '127.0.1.0']]);
    assert.equal(percentile([5, 1, 3, 2, 4], 50), 3);
    assert.equal(percentile([5, 1, 3, 2, 4], 100), 5);
    assert.ok(Number.isNaN(percentile([], 99)));
  });
});

function c10kSample(): C10kResults {
  const run = (server: string, test: C10kRun['test'], extra: Partial<C10kRun> = {}): C10kRun => ({
    server,
    test,
    concurrency: 20000,
    requests: 100000,
    ok: 100000,
    failures: 0,
    failureKinds: { connect: 0, reset: 0 },
    peakOpen: 20000,
    serverEstablished: 20000,
    seconds: 10,
    reqPerSec: 10000,
    p50Ms: 50,
    p99Ms: 900,
    maxMs: 1500,
    rssBefore: null,
    rssHeld: null,
    rssPerConnection: null,
    clients: 4,
    sourceAddresses: 4,
    command: '4 × node client',
    samples: [],
    ...extra,
  });
  return {
    label: 'c10k',
    date: '2026-12-01T08:00:00.000Z',
    machine: { nproc: 2, cpuModel: 'AMD EPYC', memoryGiB: 24, kernel: '6.1' },
    versions: { node: 'v20.20.2' },
    config: { concurrency: 20000 },
    limits: {
      nofileSoft: 20000,
      nofileHard: 20000,
      sysctl: [
        { name: 'net.core.somaxconn', before: '4096', after: '65535', wanted: '65535', ok: true },
      ],
    },
    servers: [
      { name: 'rapid', label: 'Rapid', workers: 4, notes: 'n', command: 'node cluster' },
      { name: 'nginx', label: 'nginx', workers: 4, notes: 'n|m', command: 'nginx' },
    ],
    runs: [
      run('rapid', 'keepalive'),
      run('nginx', 'keepalive', {
        ok: 99990,
        failures: 10,
        failureKinds: { reset: 10 },
        samples: ['ECONNRESET'],
      }),
      run('rapid', 'idle', {
        concurrency: 50000,
        requests: 50000,
        ok: 50000,
        peakOpen: 50000,
        serverEstablished: 50000,
        rssBefore: 100 * 2 ** 20,
        rssHeld: 600 * 2 ** 20,
        rssPerConnection: (500 * 2 ** 20) / 50000,
      }),
    ],
    notes: ['a note'],
  };
}

describe('c10k: the results file', () => {
  it('states the verdict and tables each test with its failures', () => {
    const res = c10kSample();
    assert.equal(
      c10kVerdict(res),
      'Rapid: 100,000 / 100,000 requests over 20,000 concurrent keep-alive connections; ' +
        '50,000 idle keep-alive connections at 10.2 KiB RSS each; zero failures.',
    );
    const md = c10kMarkdown(res);
    assert.match(md, /^# Rapid concurrency proof \(C10K\): c10k, 2026-12-01/);
    assert.match(md, /\| nginx \| 20,000 \| 100,000 \| 99,990 \| 10 \(reset 10\) \|/);
    assert.match(
      md,
      /\| Rapid \| 50,000 \| 50,000 \| 0 \| 100\.0 MiB \| 600\.0 MiB \| 10\.2 KiB \|/,
    );
    assert.match(md, /nginx errors: `ECONNRESET`/);
    assert.match(md, /\| n\\\|m \|/, 'pipes in cells are escaped');
    assert.match(md, /\| net\.core\.somaxconn \| 4096 \| 65535 \| 65535 \| yes \|/);
    res.runs.push({ ...res.runs[0]!, test: 'ab', concurrency: 19000, ok: 99990, failures: 10 });
    assert.match(c10kVerdict(res), /ab -c 19,000: 99,990 \/ 100,000; .*; 10 FAILURES\.$/);
    assert.match(c10kMarkdown(res), /## ApacheBench/);
  });
});

describe('c10k: load client', () => {
  const clientJs = fileURLToPath(new URL('../../bench/lib/c10k-client.js', import.meta.url));

  /** Run one client process against `port` and return its report. */
  function runClient(job: ClientJob): Promise<ClientStats> {
    return new Promise((resolve, reject) => {
      const child = fork(clientJs, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error('client did not finish'));
      }, 60_000);
      child.on('message', (m: { type: string; stats?: ClientStats }) => {
        if (m.type === 'ready') child.send({ type: 'go' });
        else if (m.type === 'holding') child.send({ type: 'release' });
        else if (m.type === 'done') {
          clearTimeout(timer);
          child.kill('SIGKILL');
          resolve(m.stats!);
        }
      });
      child.on('error', reject);
      child.send({ type: 'start', job });
    });
  }

  async function withServer<T>(
    handler: http.RequestListener,
    fn: (port: number) => Promise<T>,
  ): Promise<T> {
    const server = http.createServer({ keepAliveTimeout: 30_000 }, handler);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      return await fn((server.address() as net.AddressInfo).port);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  }

  const job = (port: number, mode: ClientJob['mode']): ClientJob => ({
    host: '127.0.0.1',
    port,
    path: '/plaintext',
    localAddresses: ['127.0.0.2', '127.0.0.3'],
    connections: 8,
    requests: 3,
    mode,
    timeoutMs: 30_000,
    connectConcurrency: 4,
  });

  for (const mode of ['keepalive', 'close', 'idle'] as const) {
    it(`counts every answered request in ${mode} mode, from the given source addresses`, async () => {
      const seen = new Set<string>();
      const stats = await withServer(
        (req, res) => {
          seen.add(req.socket.remoteAddress ?? '');
          res.end('Hello, World!');
        },
        (port) => runClient(job(port, mode)),
      );
      const want = mode === 'idle' ? 8 : 24;
      assert.equal(stats.ok, want);
      assert.equal(failures(stats), 0, JSON.stringify(stats.samples));
      assert.equal(stats.latencyMs.length, want);
      assert.ok(stats.peakOpen >= 1 && stats.peakOpen <= 8);
      assert.deepEqual([...seen].sort(), ['127.0.0.2', '127.0.0.3']);
    });
  }

  it('counts non-200 answers and connections the server resets', async () => {
    let n = 0;
    const stats = await withServer(
      (req, res) => {
        n++;
        if (n % 2 === 0) req.socket.destroy();
        else {
          res.statusCode = 503;
          res.end('busy');
        }
      },
      (port) => runClient({ ...job(port, 'keepalive'), connections: 2, requests: 2 }),
    );
    assert.equal(stats.ok, 0);
    // A destroyed socket arrives as a FIN (closed) or, with bytes unread, a reset.
    assert.equal(stats.non200 + stats.resets + stats.closed, 4);
    assert.ok(stats.non200 >= 1 && stats.resets + stats.closed >= 1, JSON.stringify(stats));
  });
});
