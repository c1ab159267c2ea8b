/**
 * Table-driven tests of Rapid's HTTP/1.1 request parser (issue 2, "Parser"), one table per rule.
 * Every valid case is also fed one byte at a time and cut in two at every point, and must parse
 * identically; every invalid case must fail with its exact catalog entry (code and status) on
 * every split, and the parser must stay failed (nothing after a framing error is ever parsed as
 * a request). A seeded generator adds random valid requests at random splits and random byte
 * mutations that must never throw.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { E, type ErrorSpec } from '../../../src/core/errors.js';
import { DEFAULT_LIMITS, type Limits } from '../../../src/core/types.js';
import {
  EV_ERROR,
  EV_HEAD,
  EV_NEED_MORE,
  FORM_ABSOLUTE,
  FORM_ASTERISK,
  FORM_AUTHORITY,
  FORM_ORIGIN,
  MessageParser,
} from '../../../src/http1/parser.js';
import {
  drive,
  splits,
  summary,
  type ParsedMessage,
  type ParseResult,
} from '../../helpers/parse-driver.js';
import { prng } from '../../helpers/prng.js';

/** Request text (latin1: "\xe9" is the byte 0xE9). */
type Input = string;

interface Valid {
  name: string;
  input: Input;
  limits?: Partial<Limits>;
  /** Fields of the first message to check (body as a latin1 string). */
  expect: Partial<Omit<ParsedMessage, 'body'>> & { body?: string };
  /** Complete messages expected (default 1). */
  count?: number;
}

interface Invalid {
  name: string;
  input: Input;
  limits?: Partial<Limits>;
  error: ErrorSpec;
}

const bytes = (s: Input): Buffer => Buffer.from(s, 'latin1');

/** A request head: request line, fields, empty line. */
function head(line: string, ...fields: string[]): string {
  return [line, ...fields, '', ''].join('\r\n');
}

const H = 'Host: example.com';

function runSplits(input: Buffer, limits?: Partial<Limits>): ParseResult {
  const opts = limits === undefined ? {} : { limits };
  const whole = drive([input], opts);
  const want = summary(whole);
  for (const chunks of splits(input)) {
    assert.deepEqual(
      summary(drive(chunks, opts)),
      want,
      chunks.length === 2 ? `split at ${chunks[0]!.length}` : 'one byte at a time',
    );
  }
  return whole;
}

function checkValid(t: Valid): void {
  const r = runSplits(bytes(t.input), t.limits);
  assert.equal(r.error, null, `rejected: ${r.error?.code}`);
  const complete = r.messages.filter((m) => m.complete);
  assert.equal(complete.length, t.count ?? 1, 'complete messages');
  const m = r.messages[0]!;
  for (const [k, v] of Object.entries(t.expect)) {
    const actual = k === 'body' ? m.body.toString('latin1') : m[k as keyof ParsedMessage];
    assert.deepEqual(actual, v, k);
  }
}

const TRAILING_REQUEST = bytes(head('GET /after HTTP/1.1', H));

function checkInvalid(t: Invalid): void {
  const input = bytes(t.input);
  const r = runSplits(input, t.limits);
  assert.equal(r.error?.code, t.error.code, `got ${r.error?.code ?? 'no error'}`);
  assert.equal(r.error.status, t.error.status);
  // Nothing after a framing error is parsed: the parser stays failed.
  const p = new MessageParser({ ...DEFAULT_LIMITS, ...t.limits });
  let off = 0;
  let heads = 0;
  const all = Buffer.concat([input, TRAILING_REQUEST]);
  for (let guard = 0; guard < 100 && off < all.length; guard++) {
    off = p.execute(all, off);
    if (p.event === EV_ERROR) break;
    if (p.event === EV_HEAD) heads++;
  }
  assert.equal(p.event, EV_ERROR);
  assert.equal(heads, r.messages.length, 'no request parsed after the error');
  assert.equal(p.execute(TRAILING_REQUEST, 0), 0);
  assert.equal(p.event, EV_ERROR);
  assert.equal(p.error, t.error);
}

function valid(title: string, table: Valid[]): void {
  describe(title, () => {
    for (const t of table) it(t.name, () => checkValid(t));
  });
}

function invalid(title: string, table: Invalid[]): void {
  describe(title, () => {
    for (const t of table) it(`${t.name} -> ${t.error.status}`, () => checkInvalid(t));
  });
}

// ---------------------------------------------------------------------------------------------
// Request line (RFC 9112 §3)

valid('request-target forms (RFC 9112 §3.2)', [
  {
    name: 'origin-form with query',
    input: head('GET /a/b?c=d&e=%20 HTTP/1.1', H),
    expect: { method: 'GET', url: '/a/b?c=d&e=%20', targetForm: FORM_ORIGIN, host: 'example.com' },
  },
  {
    name: 'origin-form with every VCHAR class',
    input: head('GET /~a-b_c.d!$&\'()*+,;=:@[]{}|\\^`"<>%7E HTTP/1.1', H),
    expect: { url: '/~a-b_c.d!$&\'()*+,;=:@[]{}|\\^`"<>%7E', targetForm: FORM_ORIGIN },
  },
  {
    name: 'absolute-form: host from the target, Host header ignored (§3.2.2)',
    input: head('GET http://example.org:8080/x?y HTTP/1.1', 'Host: other.test'),
    expect: {
      url: 'http://example.org:8080/x?y',
      targetForm: FORM_ABSOLUTE,
      host: 'example.org:8080',
    },
  },
  {
    name: 'absolute-form with an upper-case scheme',
    input: head('GET HTTP://Example.org/a HTTP/1.1', H),
    expect: { targetForm: FORM_ABSOLUTE, host: 'Example.org' },
  },
  {
    name: 'absolute-form with a non-http scheme',
    input: head('GET urn:isbn:0451450523 HTTP/1.1', H),
    expect: { targetForm: FORM_ABSOLUTE, url: 'urn:isbn:0451450523' },
  },
  {
    name: 'absolute-form without a path',
    input: head('GET http://example.org HTTP/1.1', H),
    expect: { targetForm: FORM_ABSOLUTE, host: 'example.org' },
  },
  {
    name: 'authority-form for CONNECT',
    input: head('CONNECT example.org:443 HTTP/1.1', 'Host: example.org:443'),
    expect: {
      method: 'CONNECT',
      targetForm: FORM_AUTHORITY,
      host: 'example.org:443',
      upgrade: true,
    },
  },
  {
    name: 'authority-form with an IPv6 literal',
    input: head('CONNECT [::1]:8443 HTTP/1.1', 'Host: [::1]:8443'),
    expect: { targetForm: FORM_AUTHORITY, host: '[::1]:8443' },
  },
  {
    name: 'asterisk-form for OPTIONS',
    input: head('OPTIONS * HTTP/1.1', H),
    expect: { method: 'OPTIONS', url: '*', targetForm: FORM_ASTERISK, host: 'example.com' },
  },
]);

invalid('invalid request targets', [
  {
    name: 'asterisk-form with GET',
    input: head('GET * HTTP/1.1', H),
    error: E.HTTP1_INVALID_TARGET,
  },
  {
    name: 'http absolute-form with userinfo (RFC 9110 §4.2.4)',
    input: head('GET https://user:pw@example.org/ HTTP/1.1', H),
    error: E.HTTP1_INVALID_TARGET,
  },
  {
    name: 'http absolute-form with an empty host (RFC 9110 §4.2.1)',
    input: head('GET http:///x HTTP/1.1', H),
    error: E.HTTP1_INVALID_TARGET,
  },
  {
    name: 'http absolute-form with only a port',
    input: head('GET http://:80/x HTTP/1.1', H),
    error: E.HTTP1_INVALID_TARGET,
  },
  {
    name: 'http absolute-form without an authority',
    input: head('GET http:x HTTP/1.1', H),
    error: E.HTTP1_INVALID_TARGET,
  },
  {
    name: 'absolute-form authority with invalid host characters',
    input: head('GET http://a"b/ HTTP/1.1', H),
    error: E.HTTP1_INVALID_TARGET,
  },
  {
    name: 'CONNECT with origin-form',
    input: head('CONNECT /x HTTP/1.1', H),
    error: E.HTTP1_INVALID_TARGET,
  },
  {
    name: 'CONNECT without port',
    input: head('CONNECT example.org HTTP/1.1', H),
    error: E.HTTP1_INVALID_TARGET,
  },
  {
    name: 'CONNECT with empty port',
    input: head('CONNECT example.org: HTTP/1.1', H),
    error: E.HTTP1_INVALID_TARGET,
  },
  {
    name: 'CONNECT with non-digit port',
    input: head('CONNECT example.org:4a3 HTTP/1.1', H),
    error: E.HTTP1_INVALID_TARGET,
  },
  {
    name: 'CONNECT with userinfo',
    input: head('CONNECT u@example.org:443 HTTP/1.1', H),
    error: E.HTTP1_INVALID_TARGET,
  },
  { name: 'relative path', input: head('GET foo/bar HTTP/1.1', H), error: E.HTTP1_INVALID_TARGET },
  {
    name: 'scheme starting with a digit',
    input: head('GET 1http://x/ HTTP/1.1', H),
    error: E.HTTP1_INVALID_TARGET,
  },
  {
    name: 'byte >= 0x80 in the target',
    input: head('GET /caf\xe9 HTTP/1.1', H),
    error: E.HTTP1_INVALID_TARGET,
  },
  {
    name: 'UTF-8 in the target',
    input: head('GET /\xce\xb4 HTTP/1.1', H),
    error: E.HTTP1_INVALID_TARGET,
  },
  {
    name: 'NUL in the target',
    input: head('GET /a\x00b HTTP/1.1', H),
    error: E.HTTP1_INVALID_TARGET,
  },
  {
    name: 'DEL in the target',
    input: head('GET /a\x7fb HTTP/1.1', H),
    error: E.HTTP1_INVALID_TARGET,
  },
  {
    name: 'HTAB in the target',
    input: head('GET /a\tb HTTP/1.1', H),
    error: E.HTTP1_INVALID_TARGET,
  },
  {
    name: 'bare CR in the target',
    input: head('GET /a\rb HTTP/1.1', H),
    error: E.HTTP1_INVALID_TARGET,
  },
  {
    name: 'two spaces before the target',
    input: head('GET  / HTTP/1.1', H),
    error: E.HTTP1_INVALID_REQUEST_LINE,
  },
  { name: 'no version (HTTP/0.9)', input: 'GET /\r\n\r\n', error: E.HTTP1_INVALID_REQUEST_LINE },
  { name: 'method only', input: 'GET\r\n\r\n', error: E.HTTP1_INVALID_REQUEST_LINE },
  {
    name: 'trailing space after the version',
    input: head('GET / HTTP/1.1 ', H),
    error: E.HTTP1_INVALID_VERSION,
  },
  {
    name: 'two spaces before the version',
    input: head('GET /  HTTP/1.1', H),
    error: E.HTTP1_INVALID_VERSION,
  },
]);

valid('HTTP versions (RFC 9112 §2.3, RFC 9110 §6.2)', [
  {
    name: 'HTTP/1.0 needs no Host',
    input: head('GET / HTTP/1.0'),
    expect: { versionMinor: 0, keepAlive: false },
  },
  {
    name: 'HTTP/1.1',
    input: head('GET / HTTP/1.1', H),
    expect: { versionMinor: 1, keepAlive: true },
  },
  {
    name: 'HTTP/1.2 served as 1.1',
    input: head('GET / HTTP/1.2', H),
    expect: { versionMinor: 1, keepAlive: true },
  },
  { name: 'HTTP/1.9 served as 1.1', input: head('GET / HTTP/1.9', H), expect: { versionMinor: 1 } },
]);

invalid('unsupported and malformed versions', [
  { name: 'HTTP/2.0', input: head('GET / HTTP/2.0', H), error: E.HTTP1_VERSION_NOT_SUPPORTED },
  {
    name: 'HTTP/2 preface',
    input: 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
    error: E.HTTP1_VERSION_NOT_SUPPORTED,
  },
  {
    name: 'HTTP/0.9 with a version',
    input: head('GET / HTTP/0.9'),
    error: E.HTTP1_VERSION_NOT_SUPPORTED,
  },
  { name: 'HTTP/3.0', input: head('GET / HTTP/3.0', H), error: E.HTTP1_VERSION_NOT_SUPPORTED },
  { name: 'HTTP/1.2 without Host', input: head('GET / HTTP/1.2'), error: E.HTTP1_MISSING_HOST },
  { name: 'lowercase http', input: head('GET / http/1.1', H), error: E.HTTP1_INVALID_VERSION },
  { name: 'HTTP/1', input: head('GET / HTTP/1', H), error: E.HTTP1_INVALID_VERSION },
  { name: 'HTTP/1.10', input: head('GET / HTTP/1.10', H), error: E.HTTP1_INVALID_VERSION },
  { name: 'HTTP/11', input: head('GET / HTTP/11', H), error: E.HTTP1_INVALID_VERSION },
  { name: 'HTTP/a.b', input: head('GET / HTTP/a.b', H), error: E.HTTP1_INVALID_VERSION },
  { name: 'HTTPS/1.1', input: head('GET / HTTPS/1.1', H), error: E.HTTP1_INVALID_VERSION },
  { name: 'RTSP/1.0', input: head('OPTIONS * RTSP/1.0', H), error: E.HTTP1_INVALID_VERSION },
  { name: 'HTTP/1.1x', input: head('GET / HTTP/1.1x', H), error: E.HTTP1_INVALID_VERSION },
]);

valid('method tokens (RFC 9110 §9.1)', [
  ...['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'TRACE', 'PATCH'].map((m) => ({
    name: m,
    input: head(`${m} / HTTP/1.1`, H),
    expect: { method: m },
  })),
  {
    name: 'extension method PROPFIND',
    input: head('PROPFIND /d HTTP/1.1', H),
    expect: { method: 'PROPFIND' },
  },
  {
    name: 'extension method M-SEARCH',
    input: head('M-SEARCH / HTTP/1.1', H),
    expect: { method: 'M-SEARCH' },
  },
  {
    name: 'every tchar',
    input: head("!#$%&'*+-.^_`|~09AZaz / HTTP/1.1", H),
    expect: { method: "!#$%&'*+-.^_`|~09AZaz" },
  },
  {
    name: 'methods are case-sensitive: get is its own method',
    input: head('get / HTTP/1.1', H),
    expect: { method: 'get' },
  },
  {
    name: 'rejectUnknownMethods still accepts the standard ones',
    input: head('PATCH / HTTP/1.1', H),
    limits: { rejectUnknownMethods: true },
    expect: { method: 'PATCH' },
  },
]);

invalid('invalid and unknown methods', [
  {
    name: 'PROPFIND with rejectUnknownMethods',
    input: head('PROPFIND / HTTP/1.1', H),
    limits: { rejectUnknownMethods: true },
    error: E.HTTP1_METHOD_NOT_IMPLEMENTED,
  },
  {
    name: 'lowercase get with rejectUnknownMethods',
    input: head('get / HTTP/1.1', H),
    limits: { rejectUnknownMethods: true },
    error: E.HTTP1_METHOD_NOT_IMPLEMENTED,
  },
  { name: 'non-token character', input: head('GE(T / HTTP/1.1', H), error: E.HTTP1_INVALID_METHOD },
  { name: 'leading space', input: head(' GET / HTTP/1.1', H), error: E.HTTP1_INVALID_METHOD },
  {
    name: 'HTAB after the method',
    input: head('GET\t/ HTTP/1.1', H),
    error: E.HTTP1_INVALID_METHOD,
  },
  { name: 'byte >= 0x80', input: head('G\xc9T / HTTP/1.1', H), error: E.HTTP1_INVALID_METHOD },
  { name: 'NUL', input: head('G\x00T / HTTP/1.1', H), error: E.HTTP1_INVALID_METHOD },
]);

// ---------------------------------------------------------------------------------------------
// Header fields (RFC 9110 §5, RFC 9112 §5)

valid('header fields', [
  {
    name: 'names lowercased, values with OWS trimmed',
    input: head(
      'GET / HTTP/1.1',
      'HOST: example.com',
      'X-Custom-Name: \t a  b \t ',
      'Content-TYPE:text/plain',
    ),
    expect: {
      headers: ['host', 'example.com', 'x-custom-name', 'a  b', 'content-type', 'text/plain'],
    },
  },
  {
    name: 'every tchar in a name',
    input: head('GET / HTTP/1.1', H, "!#$%&'*+-.^_`|~09AZaz: v"),
    expect: { headers: ['host', 'example.com', "!#$%&'*+-.^_`|~09azaz", 'v'] },
  },
  {
    name: 'empty value',
    input: head('GET / HTTP/1.1', H, 'X-Empty:', 'X-Ws: \t '),
    expect: { headers: ['host', 'example.com', 'x-empty', '', 'x-ws', ''] },
  },
  {
    name: 'HTAB inside a value',
    input: head('GET / HTTP/1.1', H, 'X: a\tb'),
    expect: { headers: ['host', 'example.com', 'x', 'a\tb'] },
  },
  {
    name: 'obs-text decoded as latin1 (§5.5)',
    input: head('GET / HTTP/1.1', H, 'X: caf\xe9 \xff'),
    expect: { headers: ['host', 'example.com', 'x', 'caf\xe9 \xff'] },
  },
  {
    name: 'colon inside a value',
    input: head('GET / HTTP/1.1', H, 'X: a:b: c'),
    expect: { headers: ['host', 'example.com', 'x', 'a:b: c'] },
  },
  {
    name: 'repeated fields kept in order',
    input: head('GET / HTTP/1.1', H, 'A: 1', 'a: 2', 'A: 3'),
    expect: { headers: ['host', 'example.com', 'a', '1', 'a', '2', 'a', '3'] },
  },
  {
    name: 'empty Host is allowed (§3.2)',
    input: head('GET / HTTP/1.1', 'Host:'),
    expect: { host: '' },
  },
  {
    name: 'Host with port and IPv6',
    input: head('GET / HTTP/1.1', 'Host: [2001:db8::1]:8080'),
    expect: { host: '[2001:db8::1]:8080' },
  },
  {
    name: 'Host with percent-encoding and sub-delims',
    input: head('GET / HTTP/1.1', "Host: a%41b!$&'()*+,;=.c~_-"),
    expect: { host: "a%41b!$&'()*+,;=.c~_-" },
  },
]);

invalid('invalid header fields', [
  {
    name: 'space before the colon',
    input: head('GET / HTTP/1.1', 'Host : example.com'),
    error: E.HTTP1_SPACE_BEFORE_COLON,
  },
  {
    name: 'HTAB before the colon',
    input: head('GET / HTTP/1.1', H, 'X\t: a'),
    error: E.HTTP1_SPACE_BEFORE_COLON,
  },
  {
    name: 'obs-fold (SP)',
    input: head('GET / HTTP/1.1', H, 'X: a', ' b'),
    error: E.HTTP1_OBS_FOLD,
  },
  {
    name: 'obs-fold (HTAB)',
    input: head('GET / HTTP/1.1', H, 'X: a', '\tb'),
    error: E.HTTP1_OBS_FOLD,
  },
  {
    name: 'whitespace before the first field (§2.2)',
    input: head('GET / HTTP/1.1', ' Host: example.com'),
    error: E.HTTP1_OBS_FOLD,
  },
  {
    name: 'NUL in a value',
    input: head('GET / HTTP/1.1', H, 'X: a\x00b'),
    error: E.HTTP1_INVALID_HEADER_VALUE,
  },
  {
    name: 'bare CR in a value',
    input: head('GET / HTTP/1.1', H, 'X: a\rb'),
    error: E.HTTP1_INVALID_HEADER_VALUE,
  },
  {
    name: 'CR before CRLF',
    input: head('GET / HTTP/1.1', H, 'X: a\r'),
    error: E.HTTP1_INVALID_HEADER_VALUE,
  },
  {
    name: 'DEL in a value',
    input: head('GET / HTTP/1.1', H, 'X: a\x7fb'),
    error: E.HTTP1_INVALID_HEADER_VALUE,
  },
  {
    name: 'ESC in a value',
    input: head('GET / HTTP/1.1', H, 'X: a\x1bb'),
    error: E.HTTP1_INVALID_HEADER_VALUE,
  },
  {
    name: 'form feed in a value',
    input: head('GET / HTTP/1.1', H, 'X: a\x0cb'),
    error: E.HTTP1_INVALID_HEADER_VALUE,
  },
  {
    name: 'VT in a value',
    input: head('GET / HTTP/1.1', H, 'X: \x0b'),
    error: E.HTTP1_INVALID_HEADER_VALUE,
  },
  {
    name: 'bare LF in a value ends a line without CR',
    input: 'GET / HTTP/1.1\r\nHost: a\r\nX: a\nb\r\n\r\n',
    error: E.HTTP1_INVALID_LINE_ENDING,
  },
  {
    name: 'invalid name character',
    input: head('GET / HTTP/1.1', H, 'X@Y: a'),
    error: E.HTTP1_INVALID_HEADER_NAME,
  },
  {
    name: 'name with a byte >= 0x80',
    input: head('GET / HTTP/1.1', H, 'X\xc4: a'),
    error: E.HTTP1_INVALID_HEADER_NAME,
  },
  {
    name: 'name with NUL',
    input: head('GET / HTTP/1.1', H, 'X\x00: a'),
    error: E.HTTP1_INVALID_HEADER_NAME,
  },
  {
    name: 'name with DEL',
    input: head('GET / HTTP/1.1', H, 'X\x7f: a'),
    error: E.HTTP1_INVALID_HEADER_NAME,
  },
  {
    name: 'empty name',
    input: head('GET / HTTP/1.1', H, ': a'),
    error: E.HTTP1_INVALID_HEADER_NAME,
  },
  { name: 'no colon', input: head('GET / HTTP/1.1', H, 'Foo'), error: E.HTTP1_INVALID_HEADER_NAME },
  {
    name: 'quoted name',
    input: head('GET / HTTP/1.1', H, '"X": a'),
    error: E.HTTP1_INVALID_HEADER_NAME,
  },
  {
    name: 'missing Host on HTTP/1.1',
    input: head('GET / HTTP/1.1', 'X: a'),
    error: E.HTTP1_MISSING_HOST,
  },
  {
    name: 'missing Host with absolute-form',
    input: head('GET http://a/ HTTP/1.1'),
    error: E.HTTP1_MISSING_HOST,
  },
  { name: 'two Host fields', input: head('GET / HTTP/1.1', H, H), error: E.HTTP1_DUPLICATE_HOST },
  {
    name: 'two Host fields on HTTP/1.0',
    input: head('GET / HTTP/1.0', 'Host: a', 'host: b'),
    error: E.HTTP1_DUPLICATE_HOST,
  },
  {
    name: 'Host with a space',
    input: head('GET / HTTP/1.1', 'Host: a b'),
    error: E.HTTP1_INVALID_HOST,
  },
  {
    name: 'Host with a slash',
    input: head('GET / HTTP/1.1', 'Host: a/b'),
    error: E.HTTP1_INVALID_HOST,
  },
  {
    name: 'Host with userinfo',
    input: head('GET / HTTP/1.1', 'Host: u@a'),
    error: E.HTTP1_INVALID_HOST,
  },
  {
    name: 'Host with a query',
    input: head('GET / HTTP/1.1', 'Host: a?b'),
    error: E.HTTP1_INVALID_HOST,
  },
  {
    name: 'Host with obs-text',
    input: head('GET / HTTP/1.1', 'Host: caf\xe9'),
    error: E.HTTP1_INVALID_HOST,
  },
]);

// ---------------------------------------------------------------------------------------------
// Line endings and leading empty lines (RFC 9112 §2.2)

valid('empty lines before a request', [
  { name: 'one CRLF', input: '\r\n' + head('GET / HTTP/1.1', H), expect: { method: 'GET' } },
  {
    name: 'eight CRLFs',
    input: '\r\n'.repeat(8) + head('GET / HTTP/1.1', H),
    expect: { method: 'GET' },
  },
  {
    name: 'CRLF between pipelined requests',
    input: head('POST /1 HTTP/1.1', H, 'Content-Length: 2') + 'ab\r\n' + head('GET /2 HTTP/1.1', H),
    expect: { url: '/1', body: 'ab' },
    count: 2,
  },
]);

invalid('line endings', [
  {
    name: 'nine CRLFs before a request',
    input: '\r\n'.repeat(9) + head('GET / HTTP/1.1', H),
    error: E.HTTP1_INVALID_REQUEST_LINE,
  },
  {
    name: 'bare LF before a request',
    input: '\n' + head('GET / HTTP/1.1', H),
    error: E.HTTP1_INVALID_LINE_ENDING,
  },
  {
    name: 'bare LF after the request line',
    input: 'GET / HTTP/1.1\nHost: a\r\n\r\n',
    error: E.HTTP1_INVALID_LINE_ENDING,
  },
  {
    name: 'bare LF after a field',
    input: 'GET / HTTP/1.1\r\nHost: a\n\r\n',
    error: E.HTTP1_INVALID_LINE_ENDING,
  },
  {
    name: 'bare LF as the empty line',
    input: 'GET / HTTP/1.1\r\nHost: a\r\n\n',
    error: E.HTTP1_INVALID_LINE_ENDING,
  },
  {
    name: 'LF only everywhere',
    input: 'GET / HTTP/1.1\nHost: a\n\n',
    error: E.HTTP1_INVALID_LINE_ENDING,
  },
  {
    name: 'bare CR as a line ending',
    input: 'GET / HTTP/1.1\rHost: a\r\n\r\n',
    error: E.HTTP1_INVALID_VERSION,
  },
  {
    name: 'CR CR LF after a field (bare CR in the value)',
    input: 'GET / HTTP/1.1\r\nHost: a\r\r\n\r\n',
    error: E.HTTP1_INVALID_HEADER_VALUE,
  },
]);

// ---------------------------------------------------------------------------------------------
// Content-Length (RFC 9110 §8.6, RFC 9112 §6.3)

const post = (...fields: string[]): string => head('POST /p HTTP/1.1', H, ...fields);

valid('Content-Length', [
  {
    name: 'plain',
    input: post('Content-Length: 5') + 'hello',
    expect: { contentLength: 5, hasBody: true, body: 'hello' },
  },
  {
    name: 'zero: no body',
    input: post('Content-Length: 0'),
    expect: { contentLength: 0, hasBody: false, body: '' },
  },
  {
    name: 'leading zeros',
    input: post('Content-Length: 005') + 'hello',
    expect: { contentLength: 5, body: 'hello' },
  },
  {
    name: 'surrounding OWS',
    input: post('Content-Length: \t5 \t') + 'hello',
    expect: { contentLength: 5, body: 'hello' },
  },
  {
    name: 'two equal fields',
    input: post('Content-Length: 5', 'Content-Length: 5') + 'hello',
    expect: { body: 'hello' },
  },
  {
    name: 'two numerically equal fields',
    input: post('Content-Length: 5', 'Content-Length: 05') + 'hello',
    expect: { body: 'hello' },
  },
  {
    name: 'body bytes kept as they are',
    input: post('Content-Length: 6') + '\r\n\x00\xff\n\r',
    expect: { body: '\r\n\x00\xff\n\r' },
  },
  {
    name: 'no Content-Length: no body',
    input: head('POST / HTTP/1.1', H),
    expect: { hasBody: false, contentLength: 0 },
  },
  {
    name: 'exactly maxBodyBytes',
    input: post('Content-Length: 10') + '0123456789',
    limits: { maxBodyBytes: 10 },
    expect: { body: '0123456789' },
  },
]);

invalid('invalid Content-Length', [
  {
    name: 'list "5, 5"',
    input: post('Content-Length: 5, 5') + 'hello',
    error: E.HTTP1_INVALID_CONTENT_LENGTH,
  },
  {
    name: 'plus sign',
    input: post('Content-Length: +5') + 'hello',
    error: E.HTTP1_INVALID_CONTENT_LENGTH,
  },
  { name: 'negative', input: post('Content-Length: -1'), error: E.HTTP1_INVALID_CONTENT_LENGTH },
  {
    name: 'hex',
    input: post('Content-Length: 0x5') + 'hello',
    error: E.HTTP1_INVALID_CONTENT_LENGTH,
  },
  {
    name: 'decimal point',
    input: post('Content-Length: 5.0') + 'hello',
    error: E.HTTP1_INVALID_CONTENT_LENGTH,
  },
  {
    name: 'inner space',
    input: post('Content-Length: 5 5') + 'hello',
    error: E.HTTP1_INVALID_CONTENT_LENGTH,
  },
  { name: 'empty', input: post('Content-Length:'), error: E.HTTP1_INVALID_CONTENT_LENGTH },
  { name: 'letters', input: post('Content-Length: abc'), error: E.HTTP1_INVALID_CONTENT_LENGTH },
  {
    name: 'disagreeing fields',
    input: post('Content-Length: 5', 'Content-Length: 6') + 'hello!',
    error: E.HTTP1_CONFLICTING_CONTENT_LENGTH,
  },
  // A valid length over the limit is 413 (RFC 9110 §15.5.14 Content Too Large), not 400.
  {
    name: 'over maxBodyBytes',
    input: post('Content-Length: 11'),
    limits: { maxBodyBytes: 10 },
    error: E.HTTP1_BODY_TOO_LARGE,
  },
  {
    name: 'huge (> 2^53)',
    input: post('Content-Length: 99999999999999999999999'),
    error: E.HTTP1_BODY_TOO_LARGE,
  },
  {
    name: 'two huge lengths that differ',
    input: post('Content-Length: 9007199254740993', 'Content-Length: 9007199254740992'),
    error: E.HTTP1_BODY_TOO_LARGE,
  },
]);

// ---------------------------------------------------------------------------------------------
// Transfer-Encoding (RFC 9112 §6.1, §6.3, §7)

const CHUNKED_BODY = '5\r\nhello\r\n0\r\n\r\n';

valid('Transfer-Encoding', [
  {
    name: 'chunked',
    input: post('Transfer-Encoding: chunked') + CHUNKED_BODY,
    expect: { chunked: true, contentLength: -1, hasBody: true, body: 'hello' },
  },
  {
    name: 'case-insensitive',
    input: post('Transfer-Encoding: Chunked') + CHUNKED_BODY,
    expect: { chunked: true, body: 'hello' },
  },
  {
    name: 'empty list elements',
    input: post('Transfer-Encoding: , chunked ,') + CHUNKED_BODY,
    expect: { chunked: true },
  },
]);

invalid('invalid Transfer-Encoding', [
  {
    name: 'gzip, chunked (not implemented)',
    input: post('Transfer-Encoding: gzip, chunked') + CHUNKED_BODY,
    error: E.HTTP1_UNSUPPORTED_TRANSFER_CODING,
  },
  {
    name: 'gzip then chunked in two fields',
    input: post('Transfer-Encoding: gzip', 'Transfer-Encoding: chunked') + CHUNKED_BODY,
    error: E.HTTP1_UNSUPPORTED_TRANSFER_CODING,
  },
  {
    name: 'chunked, gzip (final coding not chunked)',
    input: post('Transfer-Encoding: chunked, gzip') + CHUNKED_BODY,
    error: E.HTTP1_INVALID_TRANSFER_ENCODING,
  },
  {
    name: 'gzip only',
    input: post('Transfer-Encoding: gzip'),
    error: E.HTTP1_INVALID_TRANSFER_ENCODING,
  },
  {
    name: 'identity',
    input: post('Transfer-Encoding: identity'),
    error: E.HTTP1_INVALID_TRANSFER_ENCODING,
  },
  {
    name: 'chunked, chunked',
    input: post('Transfer-Encoding: chunked, chunked') + CHUNKED_BODY,
    error: E.HTTP1_INVALID_TRANSFER_ENCODING,
  },
  {
    name: 'chunked in two fields',
    input: post('Transfer-Encoding: chunked', 'Transfer-Encoding: chunked') + CHUNKED_BODY,
    error: E.HTTP1_INVALID_TRANSFER_ENCODING,
  },
  { name: 'empty', input: post('Transfer-Encoding:'), error: E.HTTP1_INVALID_TRANSFER_ENCODING },
  {
    name: 'not a token',
    input: post('Transfer-Encoding: chun"ked'),
    error: E.HTTP1_INVALID_TRANSFER_ENCODING,
  },
  {
    name: 'chunkedx',
    input: post('Transfer-Encoding: chunkedx'),
    error: E.HTTP1_INVALID_TRANSFER_ENCODING,
  },
  {
    name: 'with Content-Length',
    input: post('Transfer-Encoding: chunked', 'Content-Length: 5') + CHUNKED_BODY,
    error: E.HTTP1_TE_WITH_CONTENT_LENGTH,
  },
  {
    name: 'with Content-Length first',
    input: post('Content-Length: 5', 'Transfer-Encoding: chunked') + CHUNKED_BODY,
    error: E.HTTP1_TE_WITH_CONTENT_LENGTH,
  },
  {
    name: 'on HTTP/1.0',
    input: head('POST / HTTP/1.0', 'Transfer-Encoding: chunked') + CHUNKED_BODY,
    error: E.HTTP1_TE_ON_HTTP10,
  },
]);

// ---------------------------------------------------------------------------------------------
// Chunked bodies (RFC 9112 §7.1)

const chunked = (
  body: string,
  limits?: Partial<Limits>,
): { input: string; limits?: Partial<Limits> } =>
  limits === undefined
    ? { input: post('Transfer-Encoding: chunked') + body }
    : { input: post('Transfer-Encoding: chunked') + body, limits };

valid('chunked bodies', [
  {
    name: 'several chunks, upper and lower case hex',
    ...chunked('3\r\nabc\r\nA\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n'),
    expect: { body: 'abc01234567890123456789' },
  },
  { name: 'leading zeros', ...chunked('0005\r\nhello\r\n000\r\n\r\n'), expect: { body: 'hello' } },
  {
    name: '40 leading zeros',
    ...chunked(`${'0'.repeat(40)}5\r\nhello\r\n0\r\n\r\n`),
    expect: { body: 'hello' },
  },
  {
    name: 'chunk data with CRLF inside',
    ...chunked('4\r\n\r\n\r\n\r\n0\r\n\r\n'),
    expect: { body: '\r\n\r\n' },
  },
  {
    name: 'extension without value',
    ...chunked('5;foo\r\nhello\r\n0\r\n\r\n'),
    expect: { body: 'hello' },
  },
  {
    name: 'extension with token value',
    ...chunked('5;foo=bar\r\nhello\r\n0;last=1\r\n\r\n'),
    expect: { body: 'hello' },
  },
  {
    name: 'extension with quoted value and escapes',
    ...chunked('5;foo="b a\\"r;\\\\"\r\nhello\r\n0\r\n\r\n'),
    expect: { body: 'hello' },
  },
  {
    name: 'several extensions',
    ...chunked('5;a=b;c;d="e"\r\nhello\r\n0\r\n\r\n'),
    expect: { body: 'hello' },
  },
  {
    name: 'BWS around ; and = (§7.1.1)',
    ...chunked('5 \t; a = b ;c\t=\t"d" \r\nhello\r\n0\r\n\r\n'),
    expect: { body: 'hello' },
  },
  {
    name: 'trailers',
    ...chunked('5\r\nhello\r\n0\r\nX-Sum: abc\r\nX-Other:  1 \r\n\r\n'),
    expect: { body: 'hello', trailers: ['x-sum', 'abc', 'x-other', '1'] },
  },
  {
    name: 'framing fields in trailers do not frame',
    ...chunked('5\r\nhello\r\n0\r\nContent-Length: 99\r\nHost: other\r\n\r\n'),
    expect: {
      body: 'hello',
      host: 'example.com',
      headers: ['host', 'example.com', 'transfer-encoding', 'chunked'],
    },
  },
  { name: 'empty body', ...chunked('0\r\n\r\n'), expect: { body: '', hasBody: true } },
  {
    name: 'exactly maxBodyBytes over chunks',
    ...chunked('5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n', { maxBodyBytes: 10 }),
    expect: { body: 'helloworld' },
  },
]);

invalid('invalid chunked bodies', [
  {
    name: 'non-hex size',
    ...chunked('x\r\nhello\r\n0\r\n\r\n'),
    error: E.HTTP1_INVALID_CHUNK_SIZE,
  },
  { name: 'empty size', ...chunked('\r\nhello\r\n0\r\n\r\n'), error: E.HTTP1_INVALID_CHUNK_SIZE },
  {
    name: 'negative size',
    ...chunked('-5\r\nhello\r\n0\r\n\r\n'),
    error: E.HTTP1_INVALID_CHUNK_SIZE,
  },
  {
    name: 'leading space',
    ...chunked(' 5\r\nhello\r\n0\r\n\r\n'),
    error: E.HTTP1_INVALID_CHUNK_SIZE,
  },
  {
    name: 'trailing space without extension',
    ...chunked('5 \r\nhello\r\n0\r\n\r\n'),
    error: E.HTTP1_INVALID_CHUNK_SIZE,
  },
  { name: '0x prefix', ...chunked('0x5\r\nhello\r\n0\r\n\r\n'), error: E.HTTP1_INVALID_CHUNK_SIZE },
  {
    name: 'size overflow (14 significant hex digits)',
    ...chunked('10000000000000\r\n'),
    error: E.HTTP1_CHUNK_SIZE_OVERFLOW,
  },
  {
    name: 'size overflow (ffffffffffffffffff)',
    ...chunked('ffffffffffffffffff\r\n'),
    error: E.HTTP1_CHUNK_SIZE_OVERFLOW,
  },
  {
    name: 'more than 64 leading zeros',
    ...chunked(`${'0'.repeat(65)}5\r\nhello\r\n0\r\n\r\n`),
    error: E.HTTP1_CHUNK_SIZE_OVERFLOW,
  },
  {
    name: 'bare LF after size',
    ...chunked('5\nhello\r\n0\r\n\r\n'),
    error: E.HTTP1_INVALID_CHUNK_SIZE,
  },
  {
    name: 'CR not followed by LF after size',
    ...chunked('5\rhello\r\n0\r\n\r\n'),
    error: E.HTTP1_INVALID_LINE_ENDING,
  },
  {
    name: 'data longer than the size',
    ...chunked('5\r\nhelloX\r\n0\r\n\r\n'),
    error: E.HTTP1_INVALID_CHUNK_END,
  },
  {
    name: 'bare LF after data',
    ...chunked('5\r\nhello\n0\r\n\r\n'),
    error: E.HTTP1_INVALID_CHUNK_END,
  },
  {
    name: 'CR then junk after data',
    ...chunked('5\r\nhello\rX\n0\r\n\r\n'),
    error: E.HTTP1_INVALID_CHUNK_END,
  },
  {
    name: 'empty extension',
    ...chunked('5;\r\nhello\r\n0\r\n\r\n'),
    error: E.HTTP1_INVALID_CHUNK_EXTENSION,
  },
  {
    name: 'extension without name',
    ...chunked('5;=b\r\nhello\r\n0\r\n\r\n'),
    error: E.HTTP1_INVALID_CHUNK_EXTENSION,
  },
  {
    name: 'extension with empty value',
    ...chunked('5;a=\r\nhello\r\n0\r\n\r\n'),
    error: E.HTTP1_INVALID_CHUNK_EXTENSION,
  },
  {
    name: 'unterminated quoted value',
    ...chunked('5;a="b\r\nhello\r\n0\r\n\r\n'),
    error: E.HTTP1_INVALID_CHUNK_EXTENSION,
  },
  {
    name: 'two tokens in a value',
    ...chunked('5;a=b c\r\nhello\r\n0\r\n\r\n'),
    error: E.HTTP1_INVALID_CHUNK_EXTENSION,
  },
  {
    name: 'non-token name',
    ...chunked('5;a@b\r\nhello\r\n0\r\n\r\n'),
    error: E.HTTP1_INVALID_CHUNK_EXTENSION,
  },
  {
    name: 'NUL in quoted value',
    ...chunked('5;a="\x00"\r\nhello\r\n0\r\n\r\n'),
    error: E.HTTP1_INVALID_CHUNK_EXTENSION,
  },
  {
    name: 'extensions over 4 KiB',
    ...chunked(`5;a=${'b'.repeat(5000)}\r\nhello\r\n0\r\n\r\n`),
    error: E.HTTP1_INVALID_CHUNK_EXTENSION,
  },
  {
    name: 'bare LF in trailers',
    ...chunked('5\r\nhello\r\n0\r\nX: y\n\r\n'),
    error: E.HTTP1_INVALID_LINE_ENDING,
  },
  {
    name: 'invalid trailer name',
    ...chunked('5\r\nhello\r\n0\r\nX Y: z\r\n\r\n'),
    error: E.HTTP1_INVALID_HEADER_NAME,
  },
  {
    name: 'obs-fold in trailers',
    ...chunked('5\r\nhello\r\n0\r\nX: y\r\n z\r\n\r\n'),
    error: E.HTTP1_OBS_FOLD,
  },
  {
    name: 'one chunk over maxBodyBytes',
    ...chunked('b\r\nhello world\r\n0\r\n\r\n', { maxBodyBytes: 10 }),
    error: E.HTTP1_BODY_TOO_LARGE,
  },
  {
    name: 'chunks summing over maxBodyBytes',
    ...chunked('5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n', { maxBodyBytes: 10 }),
    error: E.HTTP1_BODY_TOO_LARGE,
  },
]);

// ---------------------------------------------------------------------------------------------
// Limits

const LINE_LIMIT = { maxRequestLineBytes: 32 };
/** Request line of exactly `n` bytes (without CRLF). */
const lineOf = (n: number): string => `GET /${'a'.repeat(n - 'GET / HTTP/1.1'.length)} HTTP/1.1`;

valid('limits: at the limit', [
  {
    name: 'request line of exactly maxRequestLineBytes',
    input: head(lineOf(32), H),
    limits: LINE_LIMIT,
    expect: { method: 'GET' },
  },
  {
    name: 'exactly maxHeaderCount fields',
    input: head('GET / HTTP/1.1', H, 'A: 1', 'B: 2'),
    limits: { maxHeaderCount: 3 },
    expect: { headers: ['host', 'example.com', 'a', '1', 'b', '2'] },
  },
  {
    name: 'head of exactly maxHeaderBytes',
    input: head('GET / HTTP/1.1', H, 'X: ' + 'v'.repeat(20)),
    limits: { maxHeaderBytes: head('GET / HTTP/1.1', H, 'X: ' + 'v'.repeat(20)).length },
    expect: { method: 'GET' },
  },
]);

invalid('limits: over the limit', [
  {
    name: 'request line over maxRequestLineBytes',
    input: head(lineOf(33), H),
    limits: LINE_LIMIT,
    error: E.HTTP1_URI_TOO_LONG,
  },
  {
    name: 'request line over the limit with no end in sight',
    input: 'GET /' + 'a'.repeat(100),
    limits: LINE_LIMIT,
    error: E.HTTP1_URI_TOO_LONG,
  },
  {
    name: 'header count over maxHeaderCount',
    input: head('GET / HTTP/1.1', H, 'A: 1', 'B: 2', 'C: 3'),
    limits: { maxHeaderCount: 3 },
    error: E.HTTP1_TOO_MANY_HEADERS,
  },
  {
    name: 'head over maxHeaderBytes',
    input: head('GET / HTTP/1.1', H, 'X: ' + 'v'.repeat(21)),
    limits: { maxHeaderBytes: head('GET / HTTP/1.1', H, 'X: ' + 'v'.repeat(20)).length },
    error: E.HTTP1_HEADERS_TOO_LARGE,
  },
  {
    name: 'one field line with no end in sight',
    input: 'GET / HTTP/1.1\r\nX: ' + 'v'.repeat(200),
    limits: { maxHeaderBytes: 100 },
    error: E.HTTP1_HEADERS_TOO_LARGE,
  },
  {
    name: 'trailers over maxHeaderBytes',
    ...chunked(`0\r\nX: ${'v'.repeat(200)}\r\n\r\n`, { maxHeaderBytes: 100 }),
    error: E.HTTP1_HEADERS_TOO_LARGE,
  },
  {
    name: 'body over maxBodyBytes (Content-Length)',
    input: post('Content-Length: 1048577'),
    error: E.HTTP1_BODY_TOO_LARGE,
  },
  {
    name: 'body over maxBodyBytes (chunked)',
    ...chunked('100001\r\n'),
    error: E.HTTP1_BODY_TOO_LARGE,
  },
]);

// ---------------------------------------------------------------------------------------------
// Connection, Upgrade, Expect (RFC 9112 §9.3, RFC 9110 §7.6.1, §7.8, §10.1.1)

const get = (...fields: string[]): string => head('GET / HTTP/1.1', H, ...fields);
const get10 = (...fields: string[]): string => head('GET / HTTP/1.0', ...fields);

valid('keep-alive', [
  { name: '1.1 default keep-alive', input: get(), expect: { keepAlive: true } },
  { name: '1.1 close', input: get('Connection: close'), expect: { keepAlive: false } },
  {
    name: '1.1 Close (case-insensitive)',
    input: get('Connection: Close'),
    expect: { keepAlive: false },
  },
  {
    name: '1.1 close in a list',
    input: get('Connection: keep-alive, close'),
    expect: { keepAlive: false },
  },
  {
    name: '1.1 close in a second field',
    input: get('Connection: foo', 'Connection: bar ,close'),
    expect: { keepAlive: false },
  },
  {
    name: '1.1 "closed" is not close',
    input: get('Connection: closed'),
    expect: { keepAlive: true },
  },
  { name: '1.0 default close', input: get10(), expect: { keepAlive: false } },
  { name: '1.0 keep-alive', input: get10('Connection: keep-alive'), expect: { keepAlive: true } },
  {
    name: '1.0 Keep-Alive in a list',
    input: get10('Connection: foo, Keep-Alive'),
    expect: { keepAlive: true },
  },
  {
    name: '1.0 keep-alive and close',
    input: get10('Connection: keep-alive, close'),
    expect: { keepAlive: false },
  },
]);

valid('upgrade', [
  {
    name: 'Connection: Upgrade with Upgrade',
    input: get('Connection: Upgrade', 'Upgrade: websocket'),
    expect: { upgrade: true },
  },
  {
    name: 'upgrade in a token list',
    input: get('Connection: keep-alive, upgrade', 'Upgrade: h2c'),
    expect: { upgrade: true },
  },
  {
    name: 'Upgrade without Connection: upgrade',
    input: get('Upgrade: websocket'),
    expect: { upgrade: false },
  },
  {
    name: 'Connection: upgrade without Upgrade',
    input: get('Connection: upgrade'),
    expect: { upgrade: false },
  },
  {
    name: 'ignored on HTTP/1.0 (§7.8)',
    input: get10('Connection: upgrade', 'Upgrade: websocket'),
    expect: { upgrade: false },
  },
  {
    name: 'CONNECT',
    input: head('CONNECT a.test:443 HTTP/1.1', 'Host: a.test:443'),
    expect: { upgrade: true },
  },
]);

valid('expect', [
  {
    name: '100-continue',
    input: post('Content-Length: 2', 'Expect: 100-continue') + 'ab',
    expect: { expectContinue: true, expectUnsupported: false, body: 'ab' },
  },
  {
    name: '100-Continue (case-insensitive)',
    input: post('Content-Length: 2', 'Expect: 100-Continue') + 'ab',
    expect: { expectContinue: true },
  },
  {
    name: 'other expectation',
    input: get('Expect: something'),
    expect: { expectContinue: false, expectUnsupported: true },
  },
  {
    name: 'ignored on HTTP/1.0 (§10.1.1)',
    input: head('POST / HTTP/1.0', 'Content-Length: 2', 'Expect: 100-continue') + 'ab',
    expect: { expectContinue: false },
  },
  { name: 'none', input: get(), expect: { expectContinue: false, expectUnsupported: false } },
]);

// ---------------------------------------------------------------------------------------------
// Pipelining

function pipelined(withBodies: boolean): string {
  let s = '';
  for (let k = 0; k < 10; k++) {
    if (!withBodies) s += head(`GET /${k} HTTP/1.1`, H);
    else if (k % 2 === 0)
      s += post(`Content-Length: ${k + 1}`).replace('/p', `/${k}`) + 'x'.repeat(k + 1);
    else
      s +=
        post('Transfer-Encoding: chunked').replace('/p', `/${k}`) +
        `${(k + 1).toString(16)}\r\n${'y'.repeat(k + 1)}\r\n0\r\n\r\n`;
  }
  return s;
}

describe('pipelined requests in one chunk', () => {
  for (const withBodies of [false, true]) {
    it(`10 requests ${withBodies ? 'with bodies (Content-Length and chunked)' : 'without bodies'}`, () => {
      const r = runSplits(bytes(pipelined(withBodies)));
      assert.equal(r.error, null);
      assert.equal(r.messages.length, 10);
      r.messages.forEach((m, k) => {
        assert.equal(m.url, `/${k}`);
        assert.equal(m.complete, true);
        assert.equal(m.body.toString(), withBodies ? (k % 2 === 0 ? 'x' : 'y').repeat(k + 1) : '');
      });
      assert.equal(r.finishedCleanly, true);
    });
  }

  it('a bad request after good ones: the good ones parse, nothing after the bad one', () => {
    const input =
      pipelined(false) + 'GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n' + pipelined(false);
    const r = runSplits(bytes(input));
    assert.equal(r.error?.code, E.HTTP1_INVALID_HEADER_NAME.code);
    assert.equal(r.messages.length, 10);
  });
});

// ---------------------------------------------------------------------------------------------
// Events and end of input

describe('events and finish()', () => {
  it('EV_HEAD then EV_BODY_DONE, body as views, execute continues from the returned offset', () => {
    const p = new MessageParser(DEFAULT_LIMITS);
    const seen: string[] = [];
    p.onBody = (v) => seen.push(v.toString());
    const buf = bytes(post('Content-Length: 5') + 'hello' + get());
    let off = p.execute(buf, 0);
    assert.equal(p.event, EV_HEAD);
    assert.equal(p.hasBody, true);
    off = p.execute(buf, off);
    assert.equal(seen.join(''), 'hello');
    assert.equal(p.event, 2);
    off = p.execute(buf, off);
    assert.equal(p.event, EV_HEAD);
    assert.equal(p.hasBody, false);
    assert.equal(off, buf.length);
    assert.equal(p.execute(buf, off), buf.length);
    assert.equal(p.event, EV_NEED_MORE);
    assert.equal(p.finish(), true);
  });

  it('finish() is false inside a request and true between requests', () => {
    const cases: [string, boolean][] = [
      ['', true],
      ['\r\n', true],
      ['\r', true],
      ['G', false],
      ['GET / HTTP/1.1\r\n', false],
      [get(), true],
      [post('Content-Length: 5') + 'hel', false],
      [post('Content-Length: 5') + 'hello', true],
      [post('Transfer-Encoding: chunked') + '5\r\nhello\r\n0\r\n', false],
      [post('Transfer-Encoding: chunked') + CHUNKED_BODY, true],
      [get() + '\r\n', true],
      [get() + 'GET', false],
    ];
    for (const [input, clean] of cases) {
      for (const chunks of splits(bytes(input))) {
        assert.equal(drive(chunks).finishedCleanly, clean, JSON.stringify(input));
      }
    }
  });

  it('error offsets stay within the chunk passed in', () => {
    const input = bytes(head('GET / HTTP/1.1', H, 'Bad Name: x'));
    for (let k = 1; k < input.length; k++) {
      const p = new MessageParser(DEFAULT_LIMITS);
      const a = input.subarray(0, k);
      const b = input.subarray(k);
      const o1 = p.execute(a, 0);
      if (p.event === EV_ERROR) {
        assert.ok(o1 >= 0 && o1 <= a.length);
        continue;
      }
      const o2 = p.execute(b, 0);
      assert.equal(p.event, EV_ERROR);
      assert.ok(o2 >= 0 && o2 <= b.length, `offset ${o2} for split ${k}`);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Generated requests and mutations (seeded, so failures reproduce)

const TCHARS = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const PATH_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/%?";
const VALUE_CHARS = (() => {
  let s = ' \t';
  for (let b = 0x21; b <= 0x7e; b++) s += String.fromCharCode(b);
  for (let b = 0x80; b <= 0xff; b += 7) s += String.fromCharCode(b);
  return s;
})();

interface Generated {
  text: string;
  messages: { method: string; url: string; headers: string[]; body: string; trailers: string[] }[];
}

function generate(rand: () => number): Generated {
  const pick = (s: string): string => s[Math.floor(rand() * s.length)]!;
  const str = (chars: string, min: number, max: number): string => {
    let out = '';
    const n = min + Math.floor(rand() * (max - min + 1));
    for (let k = 0; k < n; k++) out += pick(chars);
    return out;
  };
  const methods = [
    'GET',
    'POST',
    'PUT',
    'DELETE',
    'PATCH',
    'OPTIONS',
    'PROPFIND',
    str(TCHARS, 1, 8),
  ];
  const count = 1 + Math.floor(rand() * 4);
  let text = '';
  const messages: Generated['messages'] = [];
  for (let m = 0; m < count; m++) {
    if (rand() < 0.2) text += '\r\n';
    const method = methods[Math.floor(rand() * methods.length)]!;
    const url = '/' + str(PATH_CHARS, 0, 30);
    const headers: string[] = ['host', 'h' + str('abc123.-', 0, 10)];
    const lines = [`${method} ${url} HTTP/1.1`, `Host: ${headers[1]}`];
    const nh = Math.floor(rand() * 6);
    for (let k = 0; k < nh; k++) {
      const name = 'x-' + str(TCHARS, 1, 10);
      const inner = str(VALUE_CHARS, 0, 20).replace(/^[ \t]+|[ \t]+$/g, '');
      lines.push(`${name}:${rand() < 0.5 ? ' ' : ''}${inner}${rand() < 0.3 ? ' \t' : ''}`);
      headers.push(name.toLowerCase(), inner);
    }
    let body = '';
    const trailers: string[] = [];
    const kind = rand();
    if (kind < 0.33) {
      text += lines.join('\r\n') + '\r\n\r\n';
    } else if (kind < 0.66) {
      body = str(VALUE_CHARS + '\r\n\x00', 0, 60);
      lines.push(`Content-Length: ${body.length}`);
      headers.push('content-length', String(body.length));
      text += lines.join('\r\n') + '\r\n\r\n' + body;
    } else {
      lines.push('Transfer-Encoding: chunked');
      headers.push('transfer-encoding', 'chunked');
      text += lines.join('\r\n') + '\r\n\r\n';
      const nc = Math.floor(rand() * 4);
      for (let c = 0; c < nc; c++) {
        const data = str(VALUE_CHARS + '\r\n', 1, 20);
        body += data;
        const ext =
          rand() < 0.3
            ? `;${str(TCHARS, 1, 5)}=${rand() < 0.5 ? str(TCHARS, 1, 5) : '"q \\" v"'}`
            : '';
        text += `${data.length.toString(rand() < 0.5 ? 16 : 16).toUpperCase()}${ext}\r\n${data}\r\n`;
      }
      text += '0\r\n';
      if (rand() < 0.4) {
        const tn = 'x-t' + str(TCHARS, 0, 5);
        const tv = str('abc 123', 0, 10).trim();
        text += `${tn}: ${tv}\r\n`;
        trailers.push(tn.toLowerCase(), tv);
      }
      text += '\r\n';
    }
    messages.push({ method, url, headers, body, trailers });
  }
  return { text, messages };
}

function randomSplit(buf: Buffer, rand: () => number): Buffer[] {
  const cuts = new Set<number>();
  const n = Math.floor(rand() * 8);
  for (let k = 0; k < n; k++) cuts.add(1 + Math.floor(rand() * Math.max(1, buf.length - 1)));
  const sorted = [...cuts].filter((c) => c < buf.length).sort((a, b) => a - b);
  const out: Buffer[] = [];
  let last = 0;
  for (const c of sorted) {
    out.push(buf.subarray(last, c));
    last = c;
  }
  out.push(buf.subarray(last));
  return out;
}

describe('generated requests', () => {
  it('random valid requests parse as generated, identically at random splits', () => {
    const rand = prng(0x5eed);
    for (let iter = 0; iter < 400; iter++) {
      const g = generate(rand);
      const input = bytes(g.text);
      const whole = drive([input]);
      assert.equal(
        whole.error,
        null,
        `iteration ${iter}: ${whole.error?.code} on ${JSON.stringify(g.text)}`,
      );
      assert.equal(whole.messages.length, g.messages.length);
      whole.messages.forEach((m, k) => {
        const want = g.messages[k]!;
        assert.equal(m.method, want.method);
        assert.equal(m.url, want.url);
        assert.deepEqual(m.headers, want.headers);
        assert.equal(m.body.toString('latin1'), want.body);
        assert.deepEqual(m.trailers, want.trailers);
        assert.equal(m.complete, true);
      });
      const want = summary(whole);
      for (let s = 0; s < 10; s++) {
        assert.deepEqual(summary(drive(randomSplit(input, rand))), want, `iteration ${iter}`);
      }
    }
  });

  it('random byte mutations never throw and parse the same at random splits', () => {
    const rand = prng(0xbadc0de);
    let errors = 0;
    for (let iter = 0; iter < 1500; iter++) {
      const buf = Buffer.from(bytes(generate(rand).text));
      const n = 1 + Math.floor(rand() * 4);
      let mutated: Buffer = buf;
      for (let k = 0; k < n; k++) {
        const at = Math.floor(rand() * mutated.length);
        const op = rand();
        const byte =
          rand() < 0.5
            ? Math.floor(rand() * 256)
            : [0, 9, 10, 13, 32, 34, 58, 59, 127][Math.floor(rand() * 9)]!;
        if (op < 0.5) mutated[at] = byte;
        else if (op < 0.75)
          mutated = Buffer.concat([mutated.subarray(0, at), Buffer.of(byte), mutated.subarray(at)]);
        else mutated = Buffer.concat([mutated.subarray(0, at), mutated.subarray(at + 1)]);
      }
      const whole = drive([mutated]);
      if (whole.error !== null) {
        errors++;
        assert.ok(whole.error.status >= 400 && whole.error.status < 600);
      }
      const want = summary(whole);
      for (let s = 0; s < 4; s++) {
        assert.deepEqual(
          summary(drive(randomSplit(mutated, rand))),
          want,
          `mutation ${iter}: ${JSON.stringify(mutated.toString('latin1'))}`,
        );
      }
    }
    // The mutations must actually exercise the error paths.
    assert.ok(errors > 300, `only ${errors} mutations were rejected`);
  });
});
