// The multipart/form-data parser over real sockets: fields and files to disk and as streams,
// every limit, malformed bodies, and temporary files removed when an upload fails or is aborted.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  multipart,
  type MultipartBody,
  type MultipartOptions,
  type MultipartStream,
} from '../../src/app/body/multipart.js';
import { bodyServer } from '../helpers/body-server.js';
import { RawClient, req } from '../helpers/raw.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rapid-multipart-test-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A disk-storage server answering what it stored (then removing it with cleanup()). */
async function diskServer(t: TestContext, options: MultipartOptions, limit?: number) {
  return bodyServer(t, multipart(options), {
    limit,
    limits: { maxBodyBytes: 64 * 1024 * 1024 },
    map: async (v) => {
      const body = v as MultipartBody;
      const files = [];
      for (const f of body.files) {
        const data = await readFile(f.path);
        const mode = (await stat(f.path)).mode & 0o777;
        files.push({ ...f, path: undefined, sha: sha(data), len: data.length, mode });
      }
      await body.cleanup();
      const gone = body.files.every((f) => !existsSync(f.path));
      return { fields: body.fields, files, gone };
    },
  });
}

test('multipart to disk: fields, repeated fields, files (binary, UTF-8 names), cleanup', async (t) => {
  const dir = await tempDir(t);
  const s = await diskServer(t, { tmpDir: dir });
  const bin = randomBytes(200_000);
  const form = new FormData();
  form.append('title', 'héllo');
  form.append('tag', 'a');
  form.append('tag', 'b');
  form.append('doc', new Blob([bin], { type: 'application/pdf' }), 'résumé 1.pdf');
  form.append('note', new Blob(['plain text']), 'note.txt');
  form.append('empty', new Blob([]), 'zero.bin');
  const r = await s.post({ body: form });
  assert.equal(r.status, 200, JSON.stringify(r));
  const v = r.value as {
    fields: unknown;
    files: {
      fieldName: string;
      filename: string;
      mimeType: string;
      size: number;
      sha: string;
      len: number;
      mode: number;
    }[];
    gone: boolean;
  };
  assert.deepEqual(v.fields, { title: 'héllo', tag: ['a', 'b'] });
  assert.equal(v.files.length, 3);
  const [doc, note, empty] = v.files;
  assert.deepEqual(
    [doc?.fieldName, doc?.filename, doc?.mimeType, doc?.size, doc?.len, doc?.sha],
    ['doc', 'résumé 1.pdf', 'application/pdf', bin.length, bin.length, sha(bin)],
  );
  assert.equal(doc?.mode, 0o600);
  assert.deepEqual([note?.filename, note?.size], ['note.txt', 10]);
  assert.deepEqual([empty?.filename, empty?.size], ['zero.bin', 0]);
  assert.equal(v.gone, true);
  assert.deepEqual(await readdir(dir), []);
});

test('multipart: an empty file input (filename="") is skipped', async (t) => {
  const dir = await tempDir(t);
  const s = await diskServer(t, { tmpDir: dir });
  const boundary = 'XyZ';
  const body =
    `--${boundary}\r\nContent-Disposition: form-data; name="f"; filename=""\r\n` +
    `Content-Type: application/octet-stream\r\n\r\n\r\n` +
    `--${boundary}\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--${boundary}--\r\n`;
  const r = await s.post({
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
    body,
  });
  assert.deepEqual(r.value, { fields: { a: '1' }, files: [], gone: true });
});

test('multipart limits: each over-limit is its own 413, and no temporary file is left', async (t) => {
  const dir = await tempDir(t);
  const limits = { fileSize: 1000, files: 2, fields: 3, parts: 4, fieldSize: 10, fieldNameSize: 8 };
  const s = await diskServer(t, { tmpDir: dir, limits, limit: 100_000 });
  const post = async (build: (f: FormData) => void) => {
    const f = new FormData();
    build(f);
    return s.post({ body: f });
  };
  const ok = await post((f) => {
    f.append('a', 'x'.repeat(10));
    f.append('f1', new Blob([Buffer.alloc(1000)]), 'a.bin');
    f.append('f2', new Blob([Buffer.alloc(1)]), 'b.bin');
  });
  assert.equal(ok.status, 200, JSON.stringify(ok));
  const cases: [string, (f: FormData) => void][] = [
    ['RAPID_ERR_BODY_FILE_TOO_LARGE', (f) => f.append('f', new Blob([Buffer.alloc(1001)]), 'x')],
    [
      'RAPID_ERR_BODY_TOO_MANY_FILES',
      (f) => {
        for (let i = 0; i < 3; i++) f.append(`f${i}`, new Blob([Buffer.alloc(500)]), `${i}.bin`);
      },
    ],
    [
      'RAPID_ERR_BODY_TOO_MANY_FIELDS',
      (f) => ['a', 'b', 'c', 'd'].forEach((k) => f.append(k, 'v')),
    ],
    [
      'RAPID_ERR_BODY_TOO_MANY_PARTS',
      (f) => {
        ['a', 'b', 'c'].forEach((k) => f.append(k, 'v'));
        f.append('f1', new Blob(['x']), '1');
        f.append('f2', new Blob(['y']), '2');
      },
    ],
    ['RAPID_ERR_BODY_FIELD_TOO_LARGE', (f) => f.append('a', 'x'.repeat(11))],
    ['RAPID_ERR_BODY_FIELD_TOO_LARGE', (f) => f.append('longname9', 'v')],
  ];
  for (const [code, build] of cases) {
    const r = await post(build);
    assert.deepEqual([r.status, r.code], [413, code], code);
    assert.deepEqual(await readdir(dir), [], `${code}: temporary files removed`);
  }
  const whole = await diskServer(t, { tmpDir: dir, limit: 5000 });
  const big = new FormData();
  big.append('f', new Blob([Buffer.alloc(6000)]), 'big.bin');
  const r = await whole.post({ body: big });
  assert.deepEqual([r.status, r.code], [413, 'RAPID_ERR_BODY_TOO_LARGE']);
  assert.deepEqual(await readdir(dir), []);
});

test('multipart: malformed bodies are a 400, the wrong type a 415', async (t) => {
  const dir = await tempDir(t);
  const s = await diskServer(t, { tmpDir: dir });
  const noBoundary = await s.post({
    headers: { 'content-type': 'multipart/form-data' },
    body: 'x',
  });
  assert.deepEqual([noBoundary.status, noBoundary.code], [400, 'RAPID_ERR_BODY_INVALID_MULTIPART']);
  const ct = { 'content-type': 'multipart/form-data; boundary=B' };
  const truncated =
    '--B\r\nContent-Disposition: form-data; name="f"; filename="t.bin"\r\n\r\nsome bytes';
  const r1 = await s.post({ headers: ct, body: truncated });
  assert.deepEqual([r1.status, r1.code], [400, 'RAPID_ERR_BODY_INVALID_MULTIPART']);
  assert.deepEqual(await readdir(dir), []);
  const badHeader = '--B\r\nthis is not a header\r\n\r\nx\r\n--B--\r\n';
  const r2 = await s.post({ headers: ct, body: badHeader });
  assert.equal(r2.status, 400);
  const wrong = await s.post({
    headers: { 'content-type': 'multipart/mixed; boundary=B' },
    body: 'x',
  });
  assert.deepEqual([wrong.status, wrong.code], [415, 'RAPID_ERR_BODY_UNSUPPORTED_TYPE']);
});

test('multipart as streams: parts in order, files read as they arrive, unread files skipped', async (t) => {
  const s = await bodyServer(t, multipart({ storage: 'stream' }), {
    limits: { maxBodyBytes: 64 * 1024 * 1024 },
    limit: 32 * 1024 * 1024,
    map: async (v) => {
      const out: unknown[] = [];
      for await (const part of v as MultipartStream) {
        if (part.kind === 'field') out.push(['field', part.name, part.value]);
        else if (part.name === 'skip') out.push(['skipped', part.filename]);
        else {
          const h = createHash('sha256');
          let n = 0;
          for await (const chunk of part.stream) {
            h.update(chunk as Buffer);
            n += (chunk as Buffer).length;
          }
          out.push(['file', part.name, part.filename, part.mimeType, n, h.digest('hex')]);
        }
      }
      return { parts: out, fields: (v as MultipartStream).fields };
    },
  });
  const big = randomBytes(3 * 1024 * 1024);
  const small = Buffer.from('tiny');
  const form = new FormData();
  form.append('a', '1');
  form.append('skip', new Blob([randomBytes(500_000)]), 'ignored.bin');
  form.append('big', new Blob([big], { type: 'video/mp4' }), 'movie.mp4');
  form.append('a', '2');
  form.append('small', new Blob([small]), 's.txt');
  const r = await s.post({ body: form });
  assert.equal(r.status, 200, JSON.stringify(r));
  assert.deepEqual(r.value, {
    parts: [
      ['field', 'a', '1'],
      ['skipped', 'ignored.bin'],
      ['file', 'big', 'movie.mp4', 'video/mp4', big.length, sha(big)],
      ['field', 'a', '2'],
      ['file', 'small', 's.txt', 'application/octet-stream', 4, sha(small)],
    ],
    fields: { a: ['1', '2'] },
  });
});

test('multipart: a client aborting mid-upload leaves no temporary file', async (t) => {
  const dir = await tempDir(t);
  const s = await diskServer(t, { tmpDir: dir, limit: 100_000_000 });
  const c = await RawClient.connect(s.port);
  const head =
    '--B\r\nContent-Disposition: form-data; name="f"; filename="part.bin"\r\n' +
    'Content-Type: application/octet-stream\r\n\r\n';
  await c.send(
    req('POST', '/', {
      'content-type': 'multipart/form-data; boundary=B',
      'content-length': 50_000_000,
    }),
  );
  await c.send(Buffer.concat([Buffer.from(head), randomBytes(256 * 1024)]));
  // The upload is under way once its temporary file exists.
  for (let i = 0; i < 500 && (await readdir(dir)).length === 0; i++) await sleep(10);
  assert.equal((await readdir(dir)).length, 1, 'a temporary file while uploading');
  c.destroy();
  for (let i = 0; i < 500 && (await readdir(dir)).length > 0; i++) await sleep(10);
  assert.deepEqual(await readdir(dir), [], 'removed after the abort');
});

test('multipart: a temporary directory that cannot be used is a 500, not the client', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'not-a-dir');
  await writeFile(file, 'x');
  const s = await diskServer(t, { tmpDir: join(file, 'sub') });
  const form = new FormData();
  form.append('f', new Blob(['data']), 'f.txt');
  const r = await s.post({ body: form });
  assert.deepEqual([r.status, r.code], [500, 'RAPID_ERR_BODY_UPLOAD_FAILED']);
  // The server is still fine.
  const ok = new FormData();
  ok.append('a', '1');
  const good = await diskServer(t, { tmpDir: dir });
  assert.equal((await good.post({ body: ok })).status, 200);
});
