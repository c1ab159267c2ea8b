/**
 * HTTP Basic authentication over real sockets, against htpasswd files written by the real
 * `htpasswd` binary: each hash kind, wrong passwords, unknown users, `users` restrictions,
 * malformed Authorization headers (raw sockets), realms, satisfy all/any, file changes picked up
 * (and a broken file refused while the last good users keep working), concurrent bcrypt checks.
 */
import assert from 'node:assert/strict';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { E, type RapidError } from '../../src/core/errors.js';
import { createAccessControl, remoteUser } from '../../src/features/access/index.js';
import { basic, chain, fetchFrom, htpasswd, rawFrom, startOn, tempDir } from '../helpers/access.js';
import { exchange } from '../helpers/raw.js';

const dir = tempDir();
const users = join(dir, 'users.htpasswd');
htpasswd(users, 'B', 'alice', 'wonder land', true);
htpasswd(users, 'm', 'bob', 'builder');
htpasswd(users, 's', 'carol', 'sha-1 ✓');
htpasswd(users, 'B', 'dave', 'dave-pw');
const admins = join(dir, 'admins.htpasswd');
htpasswd(admins, 'm', 'root', 'toor', true);

describe('Basic auth against htpasswd', async () => {
  const ac = createAccessControl(
    [
      {
        path: '/staff',
        auth: { realm: 'Staff only', htpasswd: 'users.htpasswd', users: ['alice', 'bob'] },
      },
      { path: '/ops', auth: { realm: 'Ops "root"', htpasswd: 'admins.htpasswd' } },
      { path: '/public' },
      { auth: { realm: 'Members', htpasswd: 'users.htpasswd' } },
    ],
    { baseDir: dir },
  );
  const { port, errors } = await startOn(
    '127.0.0.1',
    chain([ac], (req, res) => res.send(`hello ${remoteUser(req) ?? '-'}`)),
  );
  const origin = `http://127.0.0.1:${port}`;
  const get = (path: string, authorization?: string) =>
    fetchFrom(origin, path, authorization === undefined ? {} : { headers: { authorization } });

  it('each hash kind verifies (bcrypt, $apr1$, {SHA}, UTF-8 password)', async () => {
    for (const [user, pw] of [
      ['alice', 'wonder land'],
      ['bob', 'builder'],
      ['carol', 'sha-1 ✓'],
      ['dave', 'dave-pw'],
    ]) {
      const r = await get('/x', basic(user as string, pw as string));
      assert.equal(r.status, 200, user);
      assert.equal(r.body, `hello ${user}`);
    }
  });

  it('no credentials: 401 with the realm and charset', async () => {
    const r = await get('/x');
    assert.equal(r.status, 401);
    assert.equal(r.headers['www-authenticate'], 'Basic realm="Members", charset="UTF-8"');
    assert.equal(r.body, 'Authentication required\n');
    const ops = await get('/ops/x');
    assert.equal(ops.headers['www-authenticate'], 'Basic realm="Ops \\"root\\"", charset="UTF-8"');
  });

  it('wrong password, unknown user, empty password, another scheme: 401', async () => {
    for (const auth of [
      basic('alice', 'wonder'),
      basic('alice', 'wonder land '),
      basic('Alice', 'wonder land'),
      basic('mallory', 'wonder land'),
      basic('bob', ''),
      basic('', ''),
      'Bearer abc.def',
      'Digest username="alice"',
    ]) {
      const r = await get('/x', auth);
      assert.equal(r.status, 401, auth);
      assert.equal(r.headers['www-authenticate'], 'Basic realm="Members", charset="UTF-8"');
    }
  });

  it('users restriction: a valid user not listed is refused', async () => {
    assert.equal((await get('/staff', basic('alice', 'wonder land'))).status, 200);
    assert.equal((await get('/staff', basic('bob', 'builder'))).status, 200);
    const carol = await get('/staff', basic('carol', 'sha-1 ✓'));
    assert.equal(carol.status, 401);
    assert.equal(carol.headers['www-authenticate'], 'Basic realm="Staff only", charset="UTF-8"');
  });

  it('another file for another path; exempted path needs nothing', async () => {
    assert.equal((await get('/ops', basic('root', 'toor'))).status, 200);
    assert.equal((await get('/ops', basic('alice', 'wonder land'))).status, 401);
    assert.equal((await get('/public/x')).status, 200);
  });

  it('cached verifications give the same answers', async () => {
    for (let i = 0; i < 3; i++) {
      assert.equal((await get('/x', basic('alice', 'wonder land'))).status, 200);
      assert.equal((await get('/x', basic('alice', 'nope'))).status, 401);
    }
  });

  it('malformed Authorization headers: 400, and the connection answers the next request', async () => {
    const bad = [
      'Basic !!!!',
      'Basic',
      `Basic ${Buffer.from('nocolon').toString('base64')}`,
      `Basic ${Buffer.from('a\u0001:b').toString('base64')}`,
      `Basic ${Buffer.from([0xc3, 0x28, 0x3a, 0x78]).toString('base64')}`,
      'Basic YWxpY2U6d29uZGVyIGxhbmQ= junk',
    ];
    for (const value of bad) {
      const r = await rawFrom(
        port,
        `GET /x HTTP/1.1\r\nHost: t\r\nAuthorization: ${value}\r\nConnection: close\r\n\r\n`,
      );
      assert.equal(r.status, 400, value);
      assert.match(r.body.toString(), /Malformed Authorization/);
    }
    // Two Authorization fields are ambiguous: 400.
    const two = await rawFrom(
      port,
      `GET /x HTTP/1.1\r\nHost: t\r\nAuthorization: ${basic('bob', 'builder')}\r\nAuthorization: ${basic('alice', 'x')}\r\nConnection: close\r\n\r\n`,
    );
    assert.equal(two.status, 400);
    // Keep-alive: a 400, a 401 and a 200 on one connection, pipelined, in order.
    const { client, responses } = await exchange(
      port,
      `GET /x HTTP/1.1\r\nHost: t\r\nAuthorization: Basic @@\r\n\r\n` +
        `GET /x HTTP/1.1\r\nHost: t\r\n\r\n` +
        `GET /x HTTP/1.1\r\nHost: t\r\nAuthorization: ${basic('bob', 'builder')}\r\n\r\n`,
      { responses: 3 },
    );
    client.destroy();
    assert.deepEqual(
      responses.map((r) => r.status),
      [400, 401, 200],
    );
    assert.equal(responses[2]?.text(), 'hello bob');
    assert.equal(errors.length, 0);
  });

  it('HEAD gets the 401 head without a body', async () => {
    const r = await rawFrom(port, 'HEAD /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n', {
      noBody: true,
    });
    assert.equal(r.status, 401);
    assert.equal(r.headers['www-authenticate'], 'Basic realm="Members", charset="UTF-8"');
  });

  it('many concurrent bcrypt checks all succeed (and wrong ones fail)', async () => {
    const results = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        get(`/x/${i}`, basic('dave', i % 3 === 0 ? `wrong-${i}` : 'dave-pw')).then((r) => r.status),
      ),
    );
    results.forEach((s, i) => assert.equal(s, i % 3 === 0 ? 401 : 200, String(i)));
  });

  it('close() releases the files', () => {
    ac.close();
    ac.close();
  });
});

describe('satisfy all / any', async () => {
  const file = join(dir, 'satisfy.htpasswd');
  htpasswd(file, 'm', 'u', 'p', true);
  const auth = { realm: 'R', htpasswd: file };
  const ac = createAccessControl([
    { path: '/all', allow: ['127.0.0.2'], auth, satisfy: 'all' },
    { path: '/any', allow: ['127.0.0.2'], auth, satisfy: 'any' },
    { path: '/denyany', deny: ['127.0.0.3'], auth, satisfy: 'any' },
  ]);
  const { port } = await startOn(
    '127.0.0.1',
    chain([ac], (_req, res) => res.send('in')),
  );
  const origin = `http://127.0.0.1:${port}`;
  const status = async (path: string, localAddress: string, creds?: boolean): Promise<number> =>
    (
      await fetchFrom(origin, path, {
        localAddress,
        headers: creds === true ? { authorization: basic('u', 'p') } : {},
      })
    ).status;

  it('all: the address must be allowed and then the credentials valid', async () => {
    assert.equal(await status('/all', '127.0.0.2'), 401);
    assert.equal(await status('/all', '127.0.0.2', true), 200);
    assert.equal(await status('/all', '127.0.0.1'), 403);
    assert.equal(await status('/all', '127.0.0.1', true), 403);
  });

  it('any: an allowed address needs no credentials, others need valid ones', async () => {
    assert.equal(await status('/any', '127.0.0.2'), 200);
    assert.equal(await status('/any', '127.0.0.1'), 401);
    assert.equal(await status('/any', '127.0.0.1', true), 200);
    assert.equal(await status('/denyany', '127.0.0.1'), 200);
    assert.equal(await status('/denyany', '127.0.0.3'), 401);
    assert.equal(await status('/denyany', '127.0.0.3', true), 200);
  });
});

describe('htpasswd file changes', async () => {
  const file = join(dir, 'changing.htpasswd');
  htpasswd(file, 'B', 'erin', 'first', true);
  const reported: RapidError[] = [];
  const ac = createAccessControl([{ auth: { realm: 'R', htpasswd: file } }], {
    reloadInterval: 0,
    onError: (err) => reported.push(err),
  });
  const { port } = await startOn(
    '127.0.0.1',
    chain([ac], (_req, res) => res.send('in')),
  );
  const origin = `http://127.0.0.1:${port}`;
  const status = async (user: string, pw: string): Promise<number> =>
    (await fetchFrom(origin, '/', { headers: { authorization: basic(user, pw) } })).status;

  it('a changed password, an added and a removed user are picked up', async () => {
    assert.equal(await status('erin', 'first'), 200);
    htpasswd(file, 'B', 'erin', 'second');
    assert.equal(await status('erin', 'first'), 401);
    assert.equal(await status('erin', 'second'), 200);
    htpasswd(file, 's', 'frank', 'f');
    assert.equal(await status('frank', 'f'), 200);
    htpasswd(file, 'D', 'frank', '');
    assert.equal(await status('frank', 'f'), 401);
  });

  it('a broken file is refused and the last good users keep working', async () => {
    appendFileSync(file, 'mallory:plaintext\n');
    assert.equal(await status('erin', 'second'), 200);
    assert.equal(await status('mallory', 'plaintext'), 401);
    assert.ok(reported.length >= 1);
    assert.equal(reported[0]?.code, E.ACCESS_HTPASSWD_INVALID.code);
    assert.match(
      reported[0]?.message ?? '',
      /line 2 \(user "mallory"\).*keeping the last good users/,
    );
    // Fixed again: picked up.
    writeFileSync(file, '');
    htpasswd(file, 'm', 'grace', 'g');
    assert.equal(await status('grace', 'g'), 200);
    assert.equal(await status('erin', 'second'), 401);
    ac.close();
  });
});

describe('access rule errors at creation', () => {
  const bad = (rules: unknown, code: string, message: RegExp, options: object = {}): void => {
    assert.throws(
      () => createAccessControl(rules as never, options),
      (err: RapidError) => err.code === code && message.test(err.message),
    );
  };
  it('names the rule and the setting', () => {
    bad([{ alow: ['x'] }], E.ACCESS_INVALID_RULE.code, /rules\[0\]: unknown setting "alow"/);
    bad(
      [{}, { allow: ['10.0.0.0/33'] }],
      E.ACCESS_INVALID_ADDRESS.code,
      /rules\[1\].*prefix length/,
    );
    bad([{ deny: ['localhost'] }], E.ACCESS_INVALID_ADDRESS.code, /"localhost" is not/);
    bad([{ path: '/a b' }], E.ACCESS_INVALID_RULE.code, /rules\[0\]\.path/);
    bad([{ satisfy: 'some' }], E.ACCESS_INVALID_RULE.code, /satisfy/);
    bad([{ auth: { realm: 'x' } }], E.ACCESS_INVALID_RULE.code, /auth\.htpasswd/);
    bad([{ auth: { realm: 'a\nb', htpasswd: users } }], E.ACCESS_INVALID_RULE.code, /realm/);
    bad([{ allow: 'all' }], E.ACCESS_INVALID_RULE.code, /allow.*array of strings/);
    bad([], E.ACCESS_INVALID_RULE.code, /options: unknown setting "basedir"/, { basedir: '/' });
    bad(
      [{ auth: { realm: 'x', htpasswd: join(dir, 'missing') } }],
      E.ACCESS_HTPASSWD_UNREADABLE.code,
      /missing/,
    );
    const broken = join(dir, 'broken.htpasswd');
    writeFileSync(broken, 'a:{SHA}short\n');
    bad(
      [{ auth: { realm: 'x', htpasswd: broken } }],
      E.ACCESS_HTPASSWD_INVALID.code,
      /broken\.htpasswd: line 1/,
    );
  });
});
