// The urlencoded, text and raw body parsers over real sockets, with their limits and errors.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { raw } from '../../src/app/body/raw.js';
import { text } from '../../src/app/body/text.js';
import { urlencoded } from '../../src/app/body/urlencoded.js';
import { bodyServer } from '../helpers/body-server.js';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

test('urlencoded: repeated keys, + as space, escapes, empty values, flat keys', async (t) => {
  const s = await bodyServer(t, urlencoded());
  const r = await s.post({
    headers: FORM,
    body: 'a=1&b=two+words&a=2&c=%C3%A9t%C3%A9&d=&e&&a=3&k%5Bx%5D=v&=anon&plus=%2B',
  });
  assert.equal(r.status, 200);
  assert.deepEqual(r.value, {
    a: ['1', '2', '3'],
    b: 'two words',
    c: 'été',
    d: '',
    e: '',
    'k[x]': 'v',
    '': 'anon',
    plus: '+',
  });
  // URLSearchParams (what browsers and fetch send) round-trips.
  const params = new URLSearchParams([
    ['q', 'a&b=c d/é'],
    ['q', '✓'],
  ]);
  assert.deepEqual((await s.post({ body: params })).value, { q: ['a&b=c d/é', '✓'] });
  // __proto__ is an ordinary key of a prototype-free object.
  assert.deepEqual(
    (await s.post({ headers: FORM, body: '__proto__=x' })).value,
    JSON.parse('{"__proto__":"x"}'),
  );
  // Invalid UTF-8 after decoding becomes U+FFFD, as in a browser.
  assert.deepEqual((await s.post({ headers: FORM, body: 'x=%FF' })).value, { x: '\ufffd' });
  // charset=iso-8859-1: escapes are bytes of that charset.
  const latin = { 'content-type': 'application/x-www-form-urlencoded; charset=iso-8859-1' };
  assert.deepEqual((await s.post({ headers: latin, body: 'x=%E9' })).value, { x: 'é' });
  assert.deepEqual((await s.post({ headers: FORM, body: '' })).status, 200);
});

test('urlencoded: bad escapes 400, too many parameters 413, other charsets 415', async (t) => {
  const s = await bodyServer(t, urlencoded({ parameterLimit: 3, limit: 100 }));
  for (const body of ['a=%', 'a=%4', 'a=%zz', '%G1=x', 'a=1&b=%u00e9']) {
    const r = await s.post({ headers: FORM, body });
    assert.deepEqual([r.status, r.code], [400, 'RAPID_ERR_BODY_INVALID_URLENCODED'], body);
  }
  assert.equal((await s.post({ headers: FORM, body: 'a=1&b=2&c=3' })).status, 200);
  const many = await s.post({ headers: FORM, body: 'a=1&b=2&c=3&d=4' });
  assert.deepEqual([many.status, many.code], [413, 'RAPID_ERR_BODY_TOO_MANY_PARAMETERS']);
  const big = await s.post({ headers: FORM, body: `a=${'x'.repeat(100)}` });
  assert.deepEqual([big.status, big.code], [413, 'RAPID_ERR_BODY_TOO_LARGE']);
  const cs = { 'content-type': 'application/x-www-form-urlencoded; charset=shift_jis' };
  const r = await s.post({ headers: cs, body: 'a=1' });
  assert.deepEqual([r.status, r.code], [415, 'RAPID_ERR_BODY_UNSUPPORTED_CHARSET']);
  const json = await s.post({ headers: { 'content-type': 'application/json' }, body: '{}' });
  assert.equal(json.status, 415);
});

test('text: charsets from Content-Type, UTF-8 default, BOM, unknown charset 415', async (t) => {
  const s = await bodyServer(t, text({ types: ['text/*'] }));
  const plain = { 'content-type': 'text/plain' };
  assert.deepEqual(await s.post({ headers: plain, body: 'héllo ✓' }), {
    status: 200,
    value: 'héllo ✓',
  });
  const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('x')]);
  assert.equal((await s.post({ headers: plain, body: bom })).value, 'x');
  const cases: [string, Buffer, string][] = [
    ['iso-8859-1', Buffer.from([0x63, 0x61, 0x66, 0xe9]), 'café'],
    ['windows-1251', Buffer.from([0xcf, 0xf0, 0xe8, 0xe2, 0xe5, 0xf2]), 'Привет'],
    ['utf-16le', Buffer.from('✓ ok', 'utf16le'), '✓ ok'],
    ['shift_jis', Buffer.from([0x82, 0xa0]), 'あ'],
    ['"UTF-8"', Buffer.from('quoted ✓'), 'quoted ✓'],
  ];
  for (const [cs, body, want] of cases) {
    const r = await s.post({ headers: { 'content-type': `text/csv; charset=${cs}` }, body });
    assert.deepEqual([r.status, r.value], [200, want], cs);
  }
  const bad = await s.post({
    headers: { 'content-type': 'text/plain; charset=x-klingon' },
    body: 'x',
  });
  assert.deepEqual([bad.status, bad.code], [415, 'RAPID_ERR_BODY_UNSUPPORTED_CHARSET']);
  const img = await s.post({ headers: { 'content-type': 'image/png' }, body: 'x' });
  assert.deepEqual([img.status, img.code], [415, 'RAPID_ERR_BODY_UNSUPPORTED_TYPE']);
  const latin = await bodyServer(t, text({ defaultCharset: 'latin1' }));
  const r = await latin.post({ headers: plain, body: Buffer.from([0xe9]) });
  assert.equal(r.value, 'é');
});

test('raw: bytes as they are, limit 413, any type with */*', async (t) => {
  const s = await bodyServer(t, raw({ limit: 1024 }), {
    map: (v) => (v as Buffer).toString('hex'),
  });
  const bin = Buffer.from([0, 1, 2, 0xff, 0xfe, 13, 10]);
  const oct = { 'content-type': 'application/octet-stream' };
  assert.deepEqual(await s.post({ headers: oct, body: bin }), {
    status: 200,
    value: bin.toString('hex'),
  });
  const big = await s.post({ headers: oct, body: Buffer.alloc(1025) });
  assert.deepEqual([big.status, big.code], [413, 'RAPID_ERR_BODY_TOO_LARGE']);
  assert.equal((await s.post({ headers: oct, body: Buffer.alloc(1024) })).status, 200);
  const any = await bodyServer(t, raw({ types: ['*/*'] }), {
    map: (v) => (v as Buffer).length,
  });
  assert.equal((await any.post({ headers: { 'content-type': 'image/png' }, body: bin })).value, 7);
  // No Content-Type matches nothing, not even */*: there is no media type to match.
  assert.equal((await any.post({ body: bin })).status, 415);
});
