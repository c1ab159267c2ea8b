/**
 * Config mode in workers, through the CLI: the file's `workers: 2` forks two workers that each run
 * startFromConfig (distribution: os, the shared socket); the status page adds every worker up; SIGHUP with a bad file is refused by
 * every worker (the old config keeps serving), with a good one every worker applies it; SIGUSR1
 * reopens the access log; SIGUSR2 replaces every worker; SIGTERM ends with status 0.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { eventually, get, RAPID_MAIN, startRapid, type RapidChild } from '../helpers/cli-child.js';

const dir = mkdtempSync(join(tmpdir(), 'rapid-config-workers-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const config = (root: string, extra = ''): string =>
  `workers: 2
distribution: os
shutdownTimeout: 5s
listeners:
  - { host: 127.0.0.1, port: 0 }
accessLog: { path: ./access.log }
status: { path: /server-status }
sites:
  - { name: b.test, root: ./${root} }
${extra}`;

const pids = (status: string): string[] =>
  [...status.matchAll(/rapid_worker_requests_total\{worker="\d+",pid="(\d+)"\}/g)].map(
    (m) => m[1]!,
  );

describe('config: workers', () => {
  it(
    'N workers from the file; SIGHUP, SIGUSR1, SIGUSR2, SIGTERM',
    { timeout: 120_000 },
    async () => {
      for (const s of ['one', 'two']) {
        mkdirSync(join(dir, s));
        writeFileSync(join(dir, s, 'index.html'), `${s}\n`);
      }
      const file = join(dir, 'rapid.yaml');
      writeFileSync(file, config('one'));
      let c: RapidChild | undefined;
      try {
        c = await startRapid(['--config', file], /2 workers \(os\)/);
        const port = c.ports[0]!;
        for (let i = 0; i < 10; i++) assert.equal((await get(port, '/', 'b.test')).body, 'one\n');
        const status = (await get(port, '/server-status')).body;
        assert.match(status, /^rapid_workers 2$/m);
        assert.match(status, /rapid_requests_total\{site="b\.test",class="2xx"\} 10$/m);
        const first = pids(status);
        assert.equal(first.length, 2);

        // A bad file: every worker refuses it, the old config keeps serving.
        let from = c.err().length;
        writeFileSync(
          file,
          config('one').replace('workers: 2', 'workers: 2\nkeepAlive: { timeout: soon }'),
        );
        c.child.kill('SIGHUP');
        await c.waitFor(
          /worker 1: reload failed[\s\S]*worker 2: reload failed|worker 2: reload failed[\s\S]*worker 1: reload failed/,
          0,
        );
        assert.match(c.err().slice(from), /rapid\.yaml:\d+:\d+: keepAlive\.timeout: /);
        for (let i = 0; i < 4; i++) assert.equal((await get(port, '/', 'b.test')).body, 'one\n');

        // A good one: every worker serves the new root.
        writeFileSync(file, config('two'));
        c.child.kill('SIGHUP');
        let streak = 0;
        await eventually(async () => {
          streak = (await get(port, '/', 'b.test')).body === 'two\n' ? streak + 1 : 0;
          return streak >= 8;
        }, 'every worker on the new config');

        // logrotate: rename, SIGUSR1, the workers write a new file.
        const log = join(dir, 'access.log');
        await eventually(
          async () => existsSync(log) && readFileSync(log, 'utf8').length > 0,
          'log',
        );
        renameSync(log, `${log}.1`);
        c.child.kill('SIGUSR1');
        await eventually(async () => {
          await get(port, '/', 'b.test');
          return existsSync(log) && readFileSync(log, 'utf8').includes('"GET / HTTP/1.1" 200');
        }, 'the reopened log');

        // Rolling restart: new workers (new pids) behind the same port, the counters go on.
        from = c.err().length;
        c.child.kill('SIGUSR2');
        await eventually(async () => {
          const s = (await get(port, '/server-status')).body;
          const now = pids(s);
          return now.length === 2 && now.every((p) => !first.includes(p));
        }, 'two new workers');
        assert.equal((await get(port, '/', 'b.test')).body, 'two\n');
        assert.equal(await c.stop(), 0);
        assert.doesNotMatch(c.err().slice(from), /error|failed/i);
      } finally {
        c?.kill();
      }
    },
  );

  it(
    '--workers overrides the file; a port in use is one located line',
    { timeout: 60_000 },
    async () => {
      mkdirSync(join(dir, 'w'), { recursive: true });
      writeFileSync(join(dir, 'w', 'index.html'), 'w\n');
      const file = join(dir, 'one.yaml');
      writeFileSync(
        file,
        `listeners:\n  - { host: 127.0.0.1, port: 0 }\nsites:\n  - { name: '*', root: ./w }\n`,
      );
      const c = await startRapid(['--config', file, '--workers', '1'], /1 workers \(/);
      try {
        assert.equal((await get(c.ports[0]!, '/')).body, 'w\n');
        writeFileSync(
          join(dir, 'taken.yaml'),
          `workers: 2\nlisteners:\n  - { host: 127.0.0.1, port: ${c.ports[0]} }\nsites:\n  - { name: '*', root: ./w }\n`,
        );
        const other = spawnSync(
          process.execPath,
          [RAPID_MAIN, '--config', join(dir, 'taken.yaml')],
          {
            encoding: 'utf8',
            timeout: 60_000,
          },
        );
        assert.equal(other.status, 1, other.stderr);
        assert.match(
          other.stderr,
          /^.*taken\.yaml:3:\d+: listeners\[0\]: cannot listen on 127\.0\.0\.1:\d+: address already in use\n$/,
        );
        // distribution without workers promises nothing: refused at its line.
        writeFileSync(
          join(dir, 'dist.yaml'),
          `distribution: os\nsites:\n  - { name: '*', root: ./w }\n`,
        );
        const d = spawnSync(process.execPath, [RAPID_MAIN, '--config', join(dir, 'dist.yaml')], {
          encoding: 'utf8',
          timeout: 60_000,
        });
        assert.equal(d.status, 1);
        assert.match(d.stderr, /dist\.yaml:1:1: distribution: applies to worker processes/);
      } finally {
        await c.stop();
      }
    },
  );
});
