// The JSON body parser over real sockets: objects/arrays, BOM, +json types, strict mode, empty
// bodies, prototype poisoning, charsets, content codings, and the 413/415/400 answers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { json } from '../../src/app/body/json.js';
import { bodyServer } from '../helpers/body-server.js';
import { RawClient, chunked, req } from '../helpers/raw.js';

const JSON_CT = { 'content-type': 'application/json' };

test('json: objects, arrays, charset, BOM, +json, chunked', async (t) => {
  const s = await bodyServer(t, json());
  const obj = { a: [1, 2, { b: 'ü €' }], n: null };
  assert.deepEqual(await s.post({ headers: JSON_CT, body: JSON.stringify(obj) }), {
    status: 200,
    value: obj,
  });
  assert.deepEqual((await s.post({ headers: JSON_CT, body: '[1,"x"]' })).value, [1, 'x']);
  const utf8 = { 'content-type': 'application/json; charset=UTF-8' };
  assert.deepEqual((await s.post({ headers: utf8, body: '{"x":"é"}' })).value, { x: 'é' });
  const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"bom":true}')]);
  assert.deepEqual((await s.post({ headers: JSON_CT, body: bom })).value, { bom: true });
  const ld = { 'content-type': 'application/ld+json' };
  assert.deepEqual((await s.post({ headers: ld, body: '{"@id":"x"}' })).value, { '@id': 'x' });
  // UTF-16 with its BOM (TextDecoder strips it)
  const u16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('{"w":"ü"}', 'utf16le')]);
  const r16 = await s.post({
    headers: { 'content-type': 'application/json; charset=utf-16le' },
    body: u16,
  });
  assert.deepEqual(r16.value, { w: 'ü' });
  // A streamed (chunked) request body.
  const stream = new ReadableStream({
    start(c) {
      c.enqueue(new TextEncoder().encode('{"chunked":'));
      c.enqueue(new TextEncoder().encode('[1,2,3]}'));
      c.close();
    },
  });
  const rc = await s.post({ headers: JSON_CT, body: stream, duplex: 'half' } as RequestInit);
  assert.deepEqual(rc.value, { chunked: [1, 2, 3] });
});

test('json: malformed, strict mode, empty bodies', async (t) => {
  const s = await bodyServer(t, json());
  for (const body of ['{"a":', '{a:1}', 'nul', '[1,]', ' \n ']) {
    const r = await s.post({ headers: JSON_CT, body });
    assert.equal(r.status, 400, body);
    assert.equal(r.code, 'RAPID_ERR_INVALID_JSON_BODY', body);
  }
  for (const body of ['1', '"s"', 'true', 'null']) {
    const r = await s.post({ headers: JSON_CT, body });
    assert.equal(r.status, 400, body);
    assert.match(r.message ?? '', /strict/);
  }
  const loose = await bodyServer(t, json({ strict: false }));
  assert.deepEqual((await loose.post({ headers: JSON_CT, body: ' "s" ' })).value, 's');
  assert.deepEqual((await loose.post({ headers: JSON_CT, body: '0' })).value, 0);
  // No body at all, and a chunked body of zero bytes: undefined, not an error.
  assert.deepEqual(await s.post({ headers: JSON_CT }), { status: 200 });
  const c = await RawClient.connect(s.port);
  await c.send(req('POST', '/', { ...JSON_CT, 'Transfer-Encoding': 'chunked' }, chunked([])));
  const [r] = await c.waitResponses(1);
  assert.equal(r?.status, 200);
  assert.equal(r?.text(), '{}');
  c.destroy();
});

test('json: __proto__ and constructor.prototype are refused (or removed)', async (t) => {
  const s = await bodyServer(t, json());
  for (const body of [
    '{"a":1,"__proto__":{"admin":true}}',
    '{"a":[{"b":{"__proto__":{}}}]}',
    '{"\\u005f_proto__":{"x":1}}',
    '{"constructor":{"prototype":{"x":1}}}',
  ]) {
    const r = await s.post({ headers: JSON_CT, body });
    assert.equal(r.status, 400, body);
    assert.equal(r.code, 'RAPID_ERR_BODY_JSON_FORBIDDEN_KEY', body);
  }
  // A plain "constructor" string value is data, not poisoning.
  const ok = await s.post({ headers: JSON_CT, body: '{"constructor":"x","proto":1}' });
  assert.deepEqual(ok.value, { constructor: 'x', proto: 1 });
  const rm = await bodyServer(t, json({ protoAction: 'remove', constructorAction: 'remove' }), {
    map: (v) => ({ keys: Object.keys(v as object), proto: Object.getPrototypeOf(v) === null }),
  });
  const r = await rm.post({
    headers: JSON_CT,
    body: '{"a":1,"__proto__":{"x":1},"constructor":{"prototype":{}}}',
  });
  assert.deepEqual(r.value, { keys: ['a'], proto: false });
});

test('json: 415 for other types and charsets, 413 past the limit', async (t) => {
  const s = await bodyServer(t, json({ limit: 64 }));
  const wrong = await s.post({ headers: { 'content-type': 'text/plain' }, body: '{}' });
  assert.deepEqual([wrong.status, wrong.code], [415, 'RAPID_ERR_BODY_UNSUPPORTED_TYPE']);
  const none = await s.post({ body: Buffer.from('{}') });
  assert.deepEqual([none.status, none.code], [415, 'RAPID_ERR_BODY_UNSUPPORTED_TYPE']);
  const latin = await s.post({
    headers: { 'content-type': 'application/json; charset=iso-8859-1' },
    body: '{}',
  });
  assert.deepEqual([latin.status, latin.code], [415, 'RAPID_ERR_BODY_UNSUPPORTED_CHARSET']);
  const exact = `{"a":"${'x'.repeat(56)}"}`; // 64 bytes: allowed
  assert.equal((await s.post({ headers: JSON_CT, body: exact })).status, 200);
  const big = await s.post({ headers: JSON_CT, body: `{"a":"${'x'.repeat(57)}"}` });
  assert.deepEqual([big.status, big.code], [413, 'RAPID_ERR_BODY_TOO_LARGE']);
  // Chunked: counted as it streams.
  const stream = new ReadableStream({
    start(c) {
      for (let i = 0; i < 10; i++) c.enqueue(new TextEncoder().encode('[1,2,3,4,5,6,7,8,9]'));
      c.close();
    },
  });
  const rc = await s.post({ headers: JSON_CT, body: stream, duplex: 'half' } as RequestInit);
  assert.deepEqual([rc.status, rc.code], [413, 'RAPID_ERR_BODY_TOO_LARGE']);
});

test('json: a Content-Length over the limit is refused before the body is sent', async (t) => {
  const s = await bodyServer(t, json({ limit: 1000 }), { limits: { maxBodyBytes: 1 << 30 } });
  const c = await RawClient.connect(s.port);
  // Only the head: the answer must come without a byte of the announced 500 MB.
  await c.send(req('POST', '/', { ...JSON_CT, 'Content-Length': 500_000_000 }));
  const [r] = await c.waitResponses(1);
  assert.equal(r?.status, 413);
  assert.match(r?.text() ?? '', /RAPID_ERR_BODY_TOO_LARGE/);
  c.destroy();
});

test('json: after a mid-body 413 the connection still serves the next request', async (t) => {
  const s = await bodyServer(t, json({ limit: 100 }));
  const c = await RawClient.connect(s.port);
  const parts = Array.from({ length: 200 }, () => '[1,2,3,4,5,6,7,8,9],');
  await c.send(req('POST', '/', { ...JSON_CT, 'Transfer-Encoding': 'chunked' }, chunked(parts)));
  await c.send(req('POST', '/', JSON_CT, '{"next":true}'));
  const [a, b] = await c.waitResponses(2);
  assert.equal(a?.status, 413);
  assert.equal(b?.status, 200);
  assert.equal(b?.text(), '{"value":{"next":true}}');
  c.destroy();
});

test('json: gzip, deflate and br bodies; unknown and corrupt codings', async (t) => {
  const s = await bodyServer(t, json({ limit: 2000 }));
  const zlib = await import('node:zlib');
  const text = JSON.stringify({ z: 'zip'.repeat(20) });
  for (const [coding, data] of [
    ['gzip', gzipSync(text)],
    ['deflate', zlib.deflateSync(text)],
    ['br', zlib.brotliCompressSync(text)],
  ] as const) {
    const r = await s.post({ headers: { ...JSON_CT, 'content-encoding': coding }, body: data });
    assert.deepEqual(r.value, JSON.parse(text), coding);
  }
  const unknown = await s.post({ headers: { ...JSON_CT, 'content-encoding': 'zstd' }, body: 'x' });
  assert.deepEqual([unknown.status, unknown.code], [415, 'RAPID_ERR_BODY_UNSUPPORTED_ENCODING']);
  const corrupt = await s.post({
    headers: { ...JSON_CT, 'content-encoding': 'gzip' },
    body: Buffer.from('not gzip at all'),
  });
  assert.deepEqual([corrupt.status, corrupt.code], [400, 'RAPID_ERR_BODY_INVALID_ENCODING']);
  // A bomb: 1 MB of zeros compresses to ~1 KB; the limit bounds the decoded size.
  const bomb = gzipSync(JSON.stringify({ z: '0'.repeat(1_000_000) }));
  const rb = await s.post({ headers: { ...JSON_CT, 'content-encoding': 'gzip' }, body: bomb });
  assert.deepEqual([rb.status, rb.code], [413, 'RAPID_ERR_BODY_TOO_LARGE']);
});
