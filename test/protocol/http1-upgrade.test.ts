// The upgrade hook (RFC 9110 §7.8): onUpgrade takes over the socket with the request and the
// bytes already read past its head; without a hook an Upgrade request is an ordinary request.
import assert from 'node:assert/strict';
import type net from 'node:net';
import { test } from 'node:test';
import type { RapidRequest, RapidResponse, UpgradeHandler } from '../../src/core/types.js';
import { RawClient, eventually, req } from '../helpers/raw.js';
import { startServer } from '../helpers/server.js';

const UPGRADE_REQ =
  'GET /chat HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Upgrade\r\nUpgrade: echo\r\n\r\n';
const SWITCH = 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n';

/** An upgrade hook speaking a toy protocol: upper-cases everything it gets, head included. */
function echoHook(seen: { req: RapidRequest; head: Buffer }[]): UpgradeHandler {
  return (rq: RapidRequest, socket: net.Socket, head: Buffer) => {
    seen.push({ req: rq, head: Buffer.from(head) });
    socket.write(SWITCH);
    if (head.length > 0) socket.write(head.toString('latin1').toUpperCase());
    socket.on('data', (d: Buffer) => socket.write(d.toString('latin1').toUpperCase()));
    socket.on('end', () => socket.end());
    socket.on('error', () => socket.destroy());
  };
}

test('onUpgrade gets the request, the socket and the bytes sent after the head in the same write', async (t) => {
  const seen: { req: RapidRequest; head: Buffer }[] = [];
  let handled = 0;
  const s = await startServer(
    (_rq, res) => {
      handled++;
      res.send('plain');
    },
    { t, onUpgrade: echoHook(seen) },
  );
  const c = await RawClient.connect(s.port);
  c.rawMode = true;
  // The extra bytes even look like an HTTP request: they are the new protocol's, not HTTP's.
  await c.send(UPGRADE_REQ + 'hello GET / HTTP/1.1\r\n\r\n');
  await c.until((x) => x.received.includes('HELLO GET / HTTP/1.1\r\n\r\n'), 'the echoed head');
  assert.equal(seen.length, 1);
  assert.equal(seen[0]!.head.toString(), 'hello GET / HTTP/1.1\r\n\r\n');
  assert.equal(seen[0]!.req.method, 'GET');
  assert.equal(seen[0]!.req.url, '/chat');
  assert.equal(seen[0]!.req.header('upgrade'), 'echo');
  // Later bytes go to the hook's own listener.
  await c.send('more');
  await c.until((x) => x.received.toString('latin1').endsWith('MORE'), 'the echo');
  assert.ok(c.received.toString('latin1').startsWith(SWITCH));
  assert.equal(handled, 0);
  // The socket is the hook's now: the server no longer tracks it as an HTTP connection.
  await eventually(() => s.server.connections === 0, 'the connection to be handed over');
  c.destroy();
});

test('an upgrade request sent byte by byte: head + later data is exactly what followed the head', async (t) => {
  const seen: { req: RapidRequest; head: Buffer }[] = [];
  const s = await startServer((_rq, res) => res.send('plain'), { t, onUpgrade: echoHook(seen) });
  const c = await RawClient.connect(s.port);
  c.rawMode = true;
  await c.send(UPGRADE_REQ + 'abc', { pieceSize: 1 });
  await c.until((x) => x.received.toString('latin1').endsWith('ABC'), 'the echo');
  assert.equal(seen.length, 1);
  assert.equal(c.received.toString('latin1'), `${SWITCH}ABC`);
  c.destroy();
});

test('upgrade after an ordinary request on the same keep-alive connection', async (t) => {
  const seen: { req: RapidRequest; head: Buffer }[] = [];
  const s = await startServer((_rq, res) => res.send('plain'), { t, onUpgrade: echoHook(seen) });
  const c = await RawClient.connect(s.port);
  await c.send(req('GET', '/first'));
  await c.waitResponses(1);
  c.rawMode = true;
  await c.send(UPGRADE_REQ + 'x');
  await c.until((x) => x.received.toString('latin1').endsWith('X'), 'the echo');
  assert.equal(seen.length, 1);
  c.destroy();
});

test('without onUpgrade, or without Connection: upgrade, or on HTTP/1.0, it is an ordinary request', async (t) => {
  const handled: string[] = [];
  const handler = (rq: RapidRequest, res: RapidResponse) => {
    handled.push(`${rq.httpVersion} ${rq.url}`);
    res.send('plain');
  };
  const plain = await startServer(handler, { t });
  const c = await RawClient.connect(plain.port);
  await c.send(UPGRADE_REQ);
  const [r] = await c.waitResponses(1);
  assert.equal(r!.status, 200);
  assert.equal(r!.text(), 'plain');
  // Still an HTTP connection.
  await c.send(req('GET', '/next'));
  await c.waitResponses(2);
  c.destroy();

  const seen: { req: RapidRequest; head: Buffer }[] = [];
  const hooked = await startServer(handler, { t, onUpgrade: echoHook(seen) });
  for (const bytes of [
    'GET /no-conn HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\n\r\n',
    'GET /no-upgrade HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\n\r\n',
    'GET /http10 HTTP/1.0\r\nConnection: upgrade, keep-alive\r\nUpgrade: echo\r\n\r\n',
  ]) {
    const c2 = await RawClient.connect(hooked.port);
    await c2.send(bytes);
    const [r2] = await c2.waitResponses(1);
    assert.equal(r2!.status, 200, bytes);
    c2.destroy();
  }
  assert.equal(seen.length, 0);
  assert.deepEqual(handled, [
    '1.1 /chat',
    '1.1 /next',
    '1.1 /no-conn',
    '1.1 /no-upgrade',
    '1.0 /http10',
  ]);
});

test(
  'server.close() does not wait forever for an upgraded socket: it is destroyed at the deadline',
  { timeout: 10_000 },
  async (t) => {
    const s = await startServer((_rq, res) => res.send('plain'), {
      t,
      onUpgrade: (_rq, socket) => {
        socket.write(SWITCH); // and then holds the socket open, ignoring everything
        socket.on('error', () => {});
      },
    });
    const c = await RawClient.connect(s.port);
    c.rawMode = true;
    await c.send(UPGRADE_REQ);
    await c.until((x) => x.received.length >= SWITCH.length, 'the 101');
    await s.close(300);
    await c.waitClose();
  },
);
