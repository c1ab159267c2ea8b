/**
 * Large files: a 1 GiB sparse file streamed whole with bounded memory, ranges deep inside it,
 * clients that stop reading or vanish mid-file while others are served, and no file descriptor
 * left open afterwards.
 */
import assert from 'node:assert/strict';
import { closeSync, openSync, readdirSync, ftruncateSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  makeSite,
  removeSite,
  request,
  startStatic,
  type StaticServer,
} from '../helpers/static-site.js';

const GiB = 1024 * 1024 * 1024;
const MiB = 1024 * 1024;

let root: string;
let s: StaticServer;

function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

/** Waits (bounded) until `check` holds; the bound is a hang guard, not a timing assertion. */
async function eventually(check: () => boolean, what: string, limitMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!check()) {
    if (Date.now() - start > limitMs) assert.fail(`never happened: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

before(async () => {
  root = makeSite({ 'small.txt': 'small and quick' });
  const fd = openSync(join(root, 'huge.bin'), 'w');
  ftruncateSync(fd, GiB); // sparse: no disk blocks, reads return zeros
  closeSync(fd);
  s = await startStatic({ root });
  await request(s.port, '/small.txt');
});
after(async () => {
  await s.close();
  removeSite(root);
});

describe('a 1 GiB sparse file', () => {
  it('streams whole with bounded memory', async () => {
    global.gc?.();
    const rss0 = process.memoryUsage().rss;
    let peak = rss0;
    const { status, length, received } = await new Promise<{
      status: number;
      length: number;
      received: number;
    }>((resolve, reject) => {
      const sock = net.connect(s.port, '127.0.0.1', () =>
        sock.write('GET /huge.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
      );
      let head = '';
      let headDone = false;
      let received = 0;
      let status = 0;
      let length = -1;
      let chunks = 0;
      sock.on('data', (c: Buffer) => {
        let body = c;
        if (!headDone) {
          head += c.toString('latin1');
          const end = head.indexOf('\r\n\r\n');
          if (end === -1) return;
          headDone = true;
          status = Number(head.slice(9, 12));
          length = Number(/content-length: (\d+)/i.exec(head)![1]);
          body = Buffer.from(head.slice(end + 4), 'latin1');
        }
        received += body.length;
        // A few spot checks that the bytes are the file's (zeros).
        if (body.length > 0 && body[0] !== 0) reject(new Error('non-zero byte'));
        if (++chunks % 256 === 0) peak = Math.max(peak, process.memoryUsage().rss);
      });
      sock.on('end', () => resolve({ status, length, received }));
      sock.on('error', reject);
    });
    assert.equal(status, 200);
    assert.equal(length, GiB);
    assert.equal(received, GiB);
    const growth = peak - rss0;
    assert.ok(
      growth < 96 * MiB,
      `RSS grew by ${(growth / MiB).toFixed(1)} MiB while streaming 1 GiB`,
    );
  });

  it('serves ranges deep inside it, and multipart ranges across it', async () => {
    const r = await request(s.port, '/huge.bin', { Range: `bytes=${GiB - 10}-` });
    assert.equal(r.status, 206);
    assert.equal(r.headers['content-range'], `bytes ${GiB - 10}-${GiB - 1}/${GiB}`);
    assert.deepEqual(r.body, Buffer.alloc(10));
    const m = await request(s.port, '/huge.bin', {
      Range: `bytes=0-1,${GiB / 2}-${GiB / 2 + 3},-2`,
    });
    assert.equal(m.status, 206);
    assert.match(m.headers['content-type']!, /^multipart\/byteranges/);
    assert.ok(
      m.body.toString('latin1').includes(`Content-Range: bytes ${GiB / 2}-${GiB / 2 + 3}/${GiB}`),
    );
  });

  it('a client that stops reading holds no more than socket buffers; others are served; its fd is closed when it goes', async () => {
    const fds0 = openFds();
    const rss0 = process.memoryUsage().rss;
    const stalled: net.Socket[] = [];
    for (let i = 0; i < 4; i++) {
      const sock = net.connect(s.port, '127.0.0.1');
      await new Promise<void>((r) => sock.once('connect', () => r()));
      sock.write('GET /huge.bin HTTP/1.1\r\nHost: x\r\n\r\n');
      // Read the first chunk, then stop reading entirely.
      await new Promise<void>((r) => sock.once('data', () => r()));
      sock.pause();
      stalled.push(sock);
    }
    // The server keeps answering other clients while those are stuck.
    for (let i = 0; i < 20; i++) {
      const r = await request(s.port, '/small.txt');
      assert.equal(r.body.toString(), 'small and quick');
    }
    const grown = process.memoryUsage().rss - rss0;
    assert.ok(grown < 96 * MiB, `RSS grew by ${(grown / MiB).toFixed(1)} MiB with stalled readers`);
    for (const sock of stalled) sock.destroy();
    await eventually(() => openFds() <= fds0, `fds back to ${fds0} (now ${openFds()})`);
  });

  it('clients resetting mid-file leak no file descriptors', async () => {
    const fds0 = openFds();
    for (let round = 0; round < 50; round++) {
      await new Promise<void>((resolve, reject) => {
        const sock = net.connect(s.port, '127.0.0.1', () =>
          sock.write('GET /huge.bin HTTP/1.1\r\nHost: x\r\n\r\n'),
        );
        let got = 0;
        sock.on('data', (c: Buffer) => {
          got += c.length;
          if (got > 256 * 1024) {
            if (round % 2 === 0) sock.resetAndDestroy();
            else sock.destroy();
            resolve();
          }
        });
        sock.on('error', reject);
      });
    }
    await eventually(() => openFds() <= fds0, `fds back to ${fds0} (now ${openFds()})`);
    const r = await request(s.port, '/small.txt');
    assert.equal(r.status, 200);
  });
});
