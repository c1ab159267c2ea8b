/**
 * The FastCGI client's connection handling against a scripted FastCGI server (a real peer on a
 * socket that can misbehave on purpose, which php-fpm cannot): queueing at maxConnections,
 * keep-alive reuse, a broken connection never reused, records split into single bytes, protocol
 * errors, a refused request, and a client that leaves mid-request.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createFastCgiHandler } from '../../src/features/fastcgi/index.js';
import {
  decodeParams,
  END_REQUEST,
  PARAMS,
  RecordParser,
  STDIN,
  STDOUT,
  streamRecords,
} from '../../src/features/fastcgi/protocol.js';
import { makeRoot, startRapid } from '../helpers/php.js';
import { eventually } from '../helpers/raw.js';
import { rmSync } from 'node:fs';

type Behaviour = (socket: net.Socket, params: Record<string, string>, stdin: Buffer) => void;

function endRequest(proto = 0): Buffer {
  const c = Buffer.alloc(8);
  c[4] = proto;
  const h = Buffer.from([1, END_REQUEST, 0, 1, 0, 8, 0, 0]);
  return Buffer.concat([h, c]);
}

function stdout(text: string): Buffer {
  return Buffer.concat(streamRecords(STDOUT, 1, Buffer.from(text)));
}

const ok = (body: string): Buffer =>
  Buffer.concat([stdout(`Content-Type: text/plain\r\n\r\n${body}`), stdout(''), endRequest()]);

interface Peer {
  port: number;
  connections: number;
  maxOpen: number;
  open: number;
  behaviour: Behaviour;
  close(): Promise<void>;
}

async function startPeer(): Promise<Peer> {
  const sockets = new Set<net.Socket>();
  const peer: Peer = {
    port: 0,
    connections: 0,
    maxOpen: 0,
    open: 0,
    behaviour: (socket, params) => socket.write(ok(params.SCRIPT_NAME ?? '')),
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
  const server = net.createServer((socket) => {
    sockets.add(socket);
    peer.connections++;
    peer.open++;
    peer.maxOpen = Math.max(peer.maxOpen, peer.open);
    socket.on('close', () => {
      peer.open--;
      sockets.delete(socket);
    });
    socket.on('error', () => {});
    let parser = new RecordParser();
    let params: Buffer[] = [];
    let stdin: Buffer[] = [];
    socket.on('data', (buf: Buffer) => {
      for (const rec of parser.execute(buf).records) {
        if (rec.type === PARAMS && rec.content.length > 0) params.push(Buffer.from(rec.content));
        if (rec.type === STDIN) {
          if (rec.content.length > 0) stdin.push(Buffer.from(rec.content));
          else {
            const p = decodeParams(Buffer.concat(params)) ?? {};
            const body = Buffer.concat(stdin);
            params = [];
            stdin = [];
            parser = new RecordParser();
            peer.behaviour(socket, p, body);
          }
        }
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  peer.port = (server.address() as net.AddressInfo).port;
  return peer;
}

let peer: Peer;
let dirs: { root: string; base: string };
const cleanups: (() => unknown)[] = [];

before(async () => {
  dirs = makeRoot({ 'a.php': '', 'b.php': '' });
  peer = await startPeer();
});
after(async () => {
  for (const c of cleanups.reverse()) await c();
  await peer.close();
  rmSync(dirs.base, { recursive: true, force: true });
});

async function front(opts: { maxConnections?: number; timeout?: number } = {}) {
  const handler = createFastCgiHandler({
    address: `127.0.0.1:${peer.port}`,
    root: dirs.root,
    log: () => {},
    ...opts,
  });
  const s = await startRapid((req, res) => handler(req, res));
  cleanups.push(
    () => s.close(),
    () => handler.close(),
  );
  return { handler, ...s };
}

describe('FastCGI connections', () => {
  it('reuses a keep-alive connection and queues at maxConnections', async () => {
    peer.connections = 0;
    peer.maxOpen = 0;
    const held: (() => void)[] = [];
    peer.behaviour = (socket, params) => held.push(() => socket.write(ok(params.SCRIPT_NAME!)));
    const f = await front({ maxConnections: 2 });
    const all = Promise.all(
      [1, 2, 3, 4, 5].map(async () => (await fetch(`${f.origin}/a.php`)).text()),
    );
    // Release the held requests as they arrive: never more than 2 at once.
    let released = 0;
    while (released < 5) {
      await eventually(() => held.length > 0, 'a request at the peer');
      held.shift()!();
      released++;
    }
    assert.deepEqual(await all, ['/a.php', '/a.php', '/a.php', '/a.php', '/a.php']);
    assert.ok(peer.maxOpen <= 2, `peer saw ${peer.maxOpen} connections at once`);
    assert.ok(peer.connections <= 2, `opened ${peer.connections} connections`);
  });

  it('never reuses a connection that broke, and cuts a response already started', async () => {
    peer.connections = 0;
    let n = 0;
    peer.behaviour = (socket, params) => {
      n++;
      if (n === 1) {
        // Head and part of the body, then the connection dies.
        socket.write(stdout('Content-Type: text/plain\r\n\r\npartial'));
        setImmediate(() => socket.destroy());
      } else socket.write(ok(params.SCRIPT_NAME!));
    };
    const f = await front();
    await assert.rejects(async () => {
      const r = await fetch(`${f.origin}/a.php`);
      await r.text();
    });
    const r = await fetch(`${f.origin}/b.php`);
    assert.equal(await r.text(), '/b.php');
    assert.equal(peer.connections, 2);
  });

  it('answers 502 for a connection lost before the head, bad records, or a refusal', async () => {
    const f = await front();
    peer.behaviour = (socket) => socket.destroy();
    assert.equal((await fetch(`${f.origin}/a.php`)).status, 502);
    peer.behaviour = (socket) => socket.write(Buffer.from([9, 9, 9, 9, 9, 9, 9, 9]));
    assert.equal((await fetch(`${f.origin}/a.php`)).status, 502);
    peer.behaviour = (socket) => socket.write(endRequest(2)); // OVERLOADED
    assert.equal((await fetch(`${f.origin}/a.php`)).status, 502);
    peer.behaviour = (socket) =>
      socket.write(Buffer.concat([stdout('garbage\r\n\r\n'), endRequest()]));
    assert.equal((await fetch(`${f.origin}/a.php`)).status, 502);
  });

  it('reads records split into single bytes', async () => {
    peer.behaviour = (socket, params) => {
      const bytes = ok(`split ${params.REQUEST_METHOD}`);
      let i = 0;
      const next = (): void => {
        if (i < bytes.length) socket.write(bytes.subarray(i, ++i), next);
      };
      next();
    };
    const f = await front();
    assert.equal(await (await fetch(`${f.origin}/a.php`)).text(), 'split GET');
  });

  it('closes the upstream connection when the client goes away', async () => {
    let upstream: net.Socket | null = null;
    peer.behaviour = (socket) => {
      upstream = socket;
    };
    const f = await front();
    const client = net.connect(f.port, '127.0.0.1');
    client.on('error', () => {});
    client.write('GET /a.php HTTP/1.1\r\nHost: x\r\n\r\n');
    await eventually(() => upstream !== null, 'the request at the peer');
    let closed = false;
    (upstream as unknown as net.Socket).once('close', () => (closed = true));
    client.destroy();
    await eventually(() => closed, 'the upstream connection to close');
  });
});
