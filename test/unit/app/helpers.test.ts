/**
 * The application layer's pure helpers: query and cookie parsing, Set-Cookie serialisation
 * (including injection attempts), cookie signatures, trust predicates, Forwarded parsing, error
 * description and Accept preference, Location encoding, and the request wrapper's one shape.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  parseCookies,
  serializeCookie,
  signCookie,
  unsignCookie,
} from '../../../src/app/cookies.js';
import {
  describeError,
  HttpError,
  httpErrors,
  prefersJson,
  qualityOf,
} from '../../../src/app/errors.js';
import { charsetOf, lookupType, mediaTypeOf, typeMatches } from '../../../src/app/mime.js';
import { compileTrust, normalizeAddress, parseForwarded } from '../../../src/app/proxy.js';
import { parseQuery } from '../../../src/app/query.js';
import { encodeUrl } from '../../../src/app/response.js';
import { E, RapidError } from '../../../src/core/errors.js';

describe('parseQuery', () => {
  it('parses pairs, repeats, empty values, + and escapes into a prototype-free object', () => {
    const q = parseQuery('?a=1&a=2&&b&c=&d=a+b%20c&e=%F0%9F%98%80&f=%E0%A4%A&=v');
    assert.equal(Object.getPrototypeOf(q), null);
    assert.deepEqual(
      { ...q },
      {
        a: ['1', '2'],
        b: '',
        c: '',
        d: 'a b c',
        e: '😀',
        f: '%E0%A4%A',
        '': 'v',
      },
    );
    assert.deepEqual({ ...parseQuery('') }, {});
    assert.deepEqual({ ...parseQuery('x=1=2') }, { x: '1=2' });
    assert.deepEqual(
      { ...parseQuery('constructor=1&toString=2') },
      { constructor: '1', toString: '2' },
    );
  });

  it('stops at the pair limit', () => {
    const many = Array.from({ length: 50 }, (_, i) => `k${i}=v`).join('&');
    assert.equal(Object.keys(parseQuery(many, 10)).length, 10);
  });
});

describe('cookies', () => {
  it('parses headers leniently, first name wins', () => {
    const c = parseCookies(' a = 1 ;b=2;;c;a=3; d="x y"; e=%zz');
    assert.deepEqual({ ...c }, { a: '1', b: '2', d: 'x y', e: '%zz' });
    assert.deepEqual({ ...parseCookies(undefined) }, {});
  });

  it('refuses names, values and attributes that would inject header content', () => {
    const bad = (f: () => unknown) => assert.throws(f, { code: 'RAPID_ERR_APP_INVALID_COOKIE' });
    bad(() => serializeCookie('a b', 'x'));
    bad(() => serializeCookie('a;b', 'x'));
    bad(() => serializeCookie('', 'x'));
    bad(() => serializeCookie('a', 'x', { encode: (v) => `${v}\r\nX-Evil: 1` }));
    bad(() => serializeCookie('a', 'x', { path: '/; Domain=evil' }));
    bad(() => serializeCookie('a', 'x', { domain: 'a\r\nb' }));
    bad(() => serializeCookie('a', 'x', { maxAge: Number.NaN }));
    bad(() => serializeCookie('a', 'x', { expires: new Date('nope') }));
    bad(() => serializeCookie('a', 'x', { sameSite: 'sometimes' as 'lax' }));
    assert.equal(serializeCookie('a', 'é;', {}), 'a=%C3%A9%3B');
    assert.equal(
      serializeCookie('a', 'x', { sameSite: true, maxAge: -5 }),
      'a=x; Max-Age=-5; SameSite=Strict',
    );
  });

  it('signs and verifies with rotation, in constant time, rejecting everything else', () => {
    const s = signCookie('v.with.dots', 'k1');
    assert.equal(unsignCookie(s, ['k1']), 'v.with.dots');
    assert.equal(unsignCookie(s, ['k0', 'k1']), 'v.with.dots');
    assert.equal(unsignCookie(s, ['k2']), false);
    assert.equal(unsignCookie(s.replace('s:', ''), ['k1']), false);
    assert.equal(unsignCookie(`${s}x`, ['k1']), false);
    assert.equal(unsignCookie('s:noSignature', ['k1']), false);
  });
});

describe('proxy trust', () => {
  it('compiles every form of trustProxy', () => {
    assert.equal(compileTrust(false), null);
    assert.equal(compileTrust(0), null);
    assert.equal(compileTrust(undefined), null);
    assert.equal(compileTrust(true)!('1.2.3.4', 9), true);
    const two = compileTrust(2)!;
    assert.deepEqual([two('x', 0), two('x', 1), two('x', 2)], [true, true, false]);
    const cidr = compileTrust(['10.0.0.0/8', 'loopback', 'fd00::/8', '192.0.2.1'])!;
    assert.equal(cidr('10.200.3.4', 0), true);
    assert.equal(cidr('11.0.0.1', 0), false);
    assert.equal(cidr('::ffff:127.0.0.1', 0), true);
    assert.equal(cidr('::1', 0), true);
    assert.equal(cidr('fd12::1', 0), true);
    assert.equal(cidr('192.0.2.1', 0), true);
    assert.equal(cidr('192.0.2.2', 0), false);
    assert.equal(cidr('unknown', 0), false);
    const str = compileTrust('uniquelocal, linklocal')!;
    assert.equal(str('172.16.5.5', 0), true);
    assert.equal(str('169.254.1.1', 0), true);
    for (const bad of ['10.0.0.0/33', 'not-an-ip', '::1/129']) {
      assert.throws(() => compileTrust([bad]), { code: 'RAPID_ERR_APP_INVALID_OPTION' });
    }
    assert.throws(() => compileTrust(-1), { code: 'RAPID_ERR_APP_INVALID_OPTION' });
    assert.equal(normalizeAddress('::FFFF:10.0.0.1'), '10.0.0.1');
    assert.equal(normalizeAddress('::ffff:abcd'), '::ffff:abcd');
  });

  it('parses Forwarded elements with quotes, escapes, case and IPv6', () => {
    assert.deepEqual(
      parseForwarded(
        'For="[2001:db8::1]:80";PROTO=HTTPS;host="a.example", for=_hidden;by=x, for="1.2.3.4:99";host="q\\"uote"',
      ),
      [
        { for: '2001:db8::1', proto: 'https', host: 'a.example' },
        { for: '_hidden', proto: '', host: '' },
        { for: '1.2.3.4', proto: '', host: 'q"uote' },
      ],
    );
    assert.deepEqual(parseForwarded('for="a,b";proto=http'), [
      { for: 'a,b', proto: 'http', host: '' },
    ]);
  });
});

describe('errors', () => {
  it('describes errors of every kind', () => {
    assert.deepEqual(describeError(new HttpError(404), true), {
      status: 404,
      code: 'RAPID_ERR_APP_HTTP_ERROR',
      message: 'Not Found',
      headers: null,
    });
    assert.equal(describeError(new HttpError(200), true).status, 500);
    assert.equal(describeError(httpErrors.create(599, 'x'), false).status, 599);
    const cat = describeError(new RapidError(E.ROUTER_BAD_URL), true);
    assert.equal(cat.code, 'RAPID_ERR_ROUTER_BAD_URL');
    assert.equal(cat.status, 400);
    assert.equal(describeError(new Error('m'), true).message, 'Internal Server Error');
    assert.equal(describeError(new Error('m'), false).message, 'm');
    assert.equal(describeError(null, false).message, 'Internal Server Error');
    assert.equal(describeError({ statusCode: 700 }, true).status, 500);
    assert.equal(describeError({ status: 429, code: 'X_LIMIT' }, true).code, 'X_LIMIT');
    assert.ok(new HttpError(400) instanceof Error);
    assert.ok(Object.create(HttpError.prototype) instanceof HttpError);
  });

  it('prefers JSON unless text ranks higher', () => {
    assert.equal(prefersJson(undefined), true);
    assert.equal(prefersJson('*/*'), true);
    assert.equal(prefersJson('application/json, text/plain'), true);
    assert.equal(prefersJson('text/html, */*;q=0.1'), false);
    assert.equal(prefersJson('application/json;q=0'), false);
    assert.equal(prefersJson('application/*;q=0.9, text/plain;q=0.8'), true);
    assert.equal(qualityOf('text/*;q=0.4, text/plain;q=0.7', 'text', 'plain'), 0.7);
    assert.equal(qualityOf('text/*;q=0.4, */*;q=0.1', 'text', 'html'), 0.4);
    assert.equal(qualityOf('text/plain;q=2', 'text', 'plain'), 0);
  });
});

describe('media types and URLs', () => {
  it('looks up short names and matches patterns', () => {
    assert.equal(lookupType('json'), 'application/json; charset=utf-8');
    assert.equal(lookupType('.HTML'), 'text/html; charset=utf-8');
    assert.equal(lookupType('image/x-custom'), 'image/x-custom');
    assert.equal(lookupType('nonsense'), '');
    assert.equal(mediaTypeOf(' Text/Plain ; charset=UTF-8'), 'text/plain');
    assert.equal(charsetOf('text/plain; charset="UTF-8"'), 'utf-8');
    assert.equal(charsetOf('text/plain'), '');
    assert.equal(typeMatches('application/*+json', 'application/vnd.api+json'), true);
    assert.equal(typeMatches('application/*+json', 'application/json'), false);
    assert.equal(typeMatches('text/*', 'text/csv'), true);
    assert.equal(typeMatches('text/*', 'textual/csv'), false);
    assert.equal(typeMatches('*/*', 'x/y'), true);
  });

  it('encodes what a Location cannot hold and keeps valid escapes', () => {
    assert.equal(encodeUrl('/a b/ü?x=%20&y=%zz#h'), '/a%20b/%C3%BC?x=%20&y=%25zz#h');
    assert.equal(encodeUrl('/ok/[x]'), '/ok/[x]');
    assert.equal(encodeUrl('/\r\nSet-Cookie: x'), '/%0D%0ASet-Cookie:%20x');
    assert.equal(encodeUrl('/\ud800'), '/%EF%BF%BD');
  });
});
