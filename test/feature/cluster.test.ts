/**
 * Workers as child processes on real sockets: N workers serve, a worker killed under load comes
 * back without failing requests that had not started on it, a crash loop stops the server with
 * one error line, a rolling restart (SIGUSR2) under continuous load fails no request, SIGTERM
 * lets a long request finish, SIGHUP reloads every worker, metrics add up across workers.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { get, load, startCluster } from '../helpers/cluster-child.js';

const T = { timeout: 120_000 };

describe('cluster', () => {
  it('N workers serve, and their metrics add up to the requests sent', T, async () => {
    const c = await startCluster({ WORKERS: '2' });
    try {
      assert.equal(c.pids.length, 2);
      const seen = new Set<number>();
      const N = 40;
      for (let i = 0; i < N; i++) {
        const r = await get(c.port, '/pid', false);
        assert.equal(r.status, 200);
        seen.add(Number(r.body));
      }
      // Round-robin hands new connections to the workers in turn.
      assert.deepEqual([...seen].sort(), [...c.pids].sort());
      const m = await get(c.port, '/server-status', false);
      assert.equal(m.status, 200);
      const perWorker = [
        ...m.body.matchAll(/^rapid_worker_requests_total\{worker="(\d+)",pid="(\d+)"\} (\d+)$/gm),
      ];
      assert.equal(perWorker.length, 2, m.body);
      const sum = perWorker.reduce((n, x) => n + Number(x[3]), 0);
      assert.equal(sum, N, 'the status request itself is counted once it is complete');
      assert.ok(perWorker.every((x) => Number(x[3]) > 0));
      assert.match(
        m.body,
        new RegExp(`^rapid_requests_total\\{site="127.0.0.1",class="2xx"\\} ${N}$`, 'm'),
      );
      assert.match(m.body, new RegExp(`^rapid_request_duration_seconds_count ${N}$`, 'm'));
      assert.match(m.body, /^rapid_workers 2$/m);
      assert.match(m.body, /^rapid_worker_restarts_total 0$/m);
      const html = await get(c.port, '/server-status?html', false);
      assert.match(html.body, /<h1>Rapid status<\/h1>/);
      assert.match(html.body, /workers: 2/);
    } finally {
      assert.equal(await c.stop(), 0);
    }
  });

  it(
    'a worker killed with SIGKILL under load is replaced; other requests do not fail',
    T,
    async () => {
      const c = await startCluster({ WORKERS: '2' });
      const C = 4;
      const l = load(c.port, C, false);
      try {
        await l.more(50);
        const victim = c.pids[0] as number;
        const failedBefore = l.failed;
        process.kill(victim, 'SIGKILL');
        const replaced = await c.waitFor(
          (e) => e.event === 'listening' && e.pid !== victim && !c.pids.includes(e.pid as number),
        );
        await l.more(100);
        await l.stop();
        assert.equal(failedBefore, 0);
        // Only requests in flight on the killed worker may fail: at most one per loop.
        assert.ok(l.failed <= C, `failed ${l.failed}: ${l.errors.join(', ')}`);
        console.log(`kill -9 under load: ${l.failed} failed (${l.errors.join(', ')}), ${l.ok} ok`);
        const now = await c.currentPids();
        assert.equal(now.pids.length, 2);
        assert.ok(now.pids.includes(replaced.pid as number));
        assert.ok(!now.pids.includes(victim));
        assert.equal(now.restarts, 1);
        assert.ok(l.pids.has(replaced.pid as number), 'the new worker serves');
      } finally {
        await l.stop();
        await c.stop();
      }
    },
  );

  it('a crash loop stops the server with one error line and exit status 1', T, async () => {
    const c = await startCluster({ WORKERS: '2', CRASH_AT_START: '1' });
    try {
      const code = await c.exit;
      assert.equal(code, 1);
      const lines = c.stderr().trimEnd().split('\n');
      assert.equal(lines.length, 1, c.stderr());
      assert.match(
        lines[0] as string,
        /^rapid: RAPID_ERR_CLUSTER_CRASH_LOOP: .*5 crashes within 10 s/,
      );
    } finally {
      await c.stop();
    }
  });

  it('a first start that fails (port in use) ends with one line, no restarts', T, async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      await assert.rejects(startCluster({ WORKERS: '2', PORT: String(port) }), (err: Error) => {
        assert.match(err.message, /cluster exited \(1\) before ready: rapid: .*EADDRINUSE/);
        assert.equal(err.message.split('\n').filter((x) => x.trim() !== '').length, 1, err.message);
        return true;
      });
    } finally {
      blocker.close();
    }
  });

  it(
    'a rolling restart (SIGUSR2) under continuous load fails no request and replaces every pid',
    T,
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'rapid-cluster-'));
      const pidFile = join(dir, 'rapid.pid');
      const c = await startCluster({ WORKERS: '2', PID_FILE: pidFile });
      const l = load(c.port, 6, true);
      try {
        assert.equal(Number(readFileSync(pidFile, 'utf8')), c.child.pid);
        await l.more(100);
        const from = c.events.length;
        process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGUSR2');
        await c.waitFor(
          (e) => e.event === 'log' && /rolling restart done/.test(String(e.line)),
          from,
        );
        await l.more(200);
        await l.stop();
        assert.equal(l.failed, 0, l.errors.join(', '));
        const now = await c.currentPids();
        assert.equal(now.pids.length, 2);
        for (const p of now.pids) assert.ok(!c.pids.includes(p), 'new pids');
        assert.equal(now.restarts, 2);
        for (const p of now.pids) assert.ok(l.pids.has(p), 'the new workers serve');
      } finally {
        await l.stop();
        await c.stop();
        assert.ok(!existsSync(pidFile), 'pid file removed on exit');
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it(
    'SIGTERM drains: a long request in flight completes, then the primary exits 0',
    T,
    async () => {
      const c = await startCluster({ WORKERS: '2', SHUTDOWN_TIMEOUT: '20000' });
      try {
        const agent = new http.Agent({ keepAlive: true });
        // An idle keep-alive connection, which the drain closes.
        assert.equal((await get(c.port, '/pid', agent)).status, 200);
        const from = c.events.length;
        const slow = get(c.port, '/slow?ms=1500', false, 30_000);
        await c.waitFor((e) => e.event === 'slow-start', from);
        c.child.kill('SIGTERM');
        const r = await slow;
        assert.equal(r.status, 200);
        assert.match(r.body, /^slow \d+$/);
        assert.equal(await c.exit, 0);
        agent.destroy();
      } finally {
        await c.stop();
      }
    },
  );

  it('SIGHUP reloads every worker', T, async () => {
    const c = await startCluster({ WORKERS: '2' });
    try {
      const from = c.events.length;
      c.child.kill('SIGHUP');
      const a = await c.waitFor((e) => e.event === 'reloaded', from);
      const b = await c.waitFor((e) => e.event === 'reloaded' && e.worker !== a.worker, from);
      assert.deepEqual([a.pid, b.pid].sort(), [...c.pids].sort());
    } finally {
      await c.stop();
    }
  });
});
