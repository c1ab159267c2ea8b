/**
 * Rapid's request parser against llhttp's request fixtures (../shared/corpora/llhttp, llhttp
 * 9.4.2, the parser inside Node's `http` module).
 *
 * - Every strict `request` case, whole, one byte at a time and cut in two at every point, gives
 *   the same accept/reject and the same method, target, header fields, body, trailers, framing
 *   (chunked, Content-Length), keep-alive and upgrade decision, and message count as llhttp,
 *   except the deliberate differences below, each decided by an RFC 9110/9112 rule and each
 *   pinned to Rapid's actual behaviour so it cannot change silently.
 * - Every `request-lenient-*` case (passes in llhttp only with a leniency flag) is rejected, or
 *   is a listed difference.
 * - `request-finish` cases: `finish()` agrees with llhttp_finish() on whether EOF is safe.
 *
 * How results are compared:
 * - A connection stops reading after a request with `Connection: close` (RFC 9112 §9.6) and
 *   after an upgrade/CONNECT request (the socket is handed over), so the driver stops there.
 * - Rapid checks a line when its CRLF arrives; llhttp checks each byte. When llhttp rejects a
 *   prefix of a line and the input ends there, Rapid has not rejected yet: it is inside a
 *   message at EOF (`finish()` false, which the connection answers with 400), and we check that
 *   it rejects as soon as the line and head are terminated (input + CRLF CRLF).
 * - llhttp reports header values with trailing whitespace; Rapid strips OWS (RFC 9112 §5) and
 *   lowercases names. The log is UTF-8 text of the bytes llhttp saw; Rapid decodes values as
 *   latin1 (RFC 9110 §5.5), so a value matches when its bytes equal the log's UTF-8 bytes, or,
 *   for bytes written as \xHH escapes in the fixture, when the latin1 text equals the log text.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { E, type ErrorSpec } from '../../../src/core/errors.js';
import {
  loadLlhttpCases,
  type LlhttpCase,
  type LlhttpMessage,
} from '../../helpers/llhttp-fixtures.js';
import { drive, splits, summary, type ParseResult } from '../../helpers/parse-driver.js';

const CRLF2 = Buffer.from('\r\n\r\n');
const ADDED_HOST = 'rapid.test';

const ALL = loadLlhttpCases();
const STRICT = ALL.filter((c) => c.type === 'request');
const LENIENT = ALL.filter((c) => c.type.startsWith('request-lenient'));
const FINISH = ALL.filter((c) => c.type === 'request-finish');

/**
 * RFC 9112 §3.2: "A server MUST respond with a 400 (Bad Request) status code to any HTTP/1.1
 * request message that lacks a Host header field and to any request message that contains more
 * than one Host header field line or a Host header field with an invalid field value."
 *
 * llhttp does not check Host, and many fixtures send HTTP/1.1 requests without one. For each of
 * them we assert that Rapid rejects the fixture as written with HTTP1_MISSING_HOST, then add
 * `Host: rapid.test` after each such request line and compare everything else with llhttp.
 */
const MISSING_HOST_RULE =
  'RFC 9112 §3.2: "A server MUST respond with a 400 (Bad Request) status code to any HTTP/1.1 request message that lacks a Host header field"';
/** How many strict cases need the added Host (the corpus is pinned, so this is too). */
const MISSING_HOST_CASES = 85;

interface KnownDifference {
  /** RFC section and the rule's words. */
  rule: string;
  /** What llhttp does, for the reader. */
  llhttp: string;
  /** Asserts Rapid's actual behaviour on the (Host-completed) input. */
  rapid: (r: ParseResult) => void;
}

function rejects(spec: ErrorSpec): (r: ParseResult) => void {
  return (r) => assert.equal(r.error?.code, spec.code, `expected ${spec.code}`);
}

/**
 * Where Rapid deliberately differs from llhttp, by case id (`file: title`). Each entry is also
 * checked to still differ from llhttp, so a stale entry fails.
 */
const KNOWN_DIFFERENCES: Record<string, KnownDifference> = {
  'connection: CRLF between requests, explicit `close`': {
    rule: 'RFC 9112 §9.6: a server that receives a "close" connection option "MUST initiate closure of the connection after it sends the final response to the request that contained the "close" connection option" and "MUST NOT process any further requests received on that connection."',
    llhttp: 'rejects the bytes after the request ("Data after `Connection: close`")',
    rapid: (r) => {
      assert.equal(r.error, null);
      assert.equal(r.messages.length, 1);
      assert.equal(r.messages[0]!.keepAlive, false);
      assert.equal(r.messages[0]!.body.toString(), 'q=42');
    },
  },
  'connection: CRLF between requests, explicit `close` followed by tab': {
    rule: 'RFC 9112 §9.6: the server "MUST NOT process any further requests received on that connection" after a "close" connection option.',
    llhttp: 'rejects the bytes after the request ("Data after `Connection: close`")',
    rapid: (r) => {
      assert.equal(r.error, null);
      assert.equal(r.messages.length, 1);
      assert.equal(r.messages[0]!.keepAlive, false);
    },
  },
  'connection: No restart when keep-alive is off (1.0)': {
    rule: 'RFC 9112 §9.3: for HTTP/1.0 without the "keep-alive" connection option "the connection will close after the current response", and §9.6: the server "MUST NOT process any further requests received on that connection."',
    llhttp: 'rejects the second request ("Data after `Connection: close`")',
    rapid: (r) => {
      assert.equal(r.error, null);
      assert.equal(r.closed, true);
      assert.equal(r.messages.length, 1);
      assert.equal(r.messages[0]!.versionMinor, 0);
    },
  },
  'content-length: Content-Length reset when no body is received': {
    rule: 'RFC 9112 §6.3 item 6: "If a valid Content-Length header field is present without Transfer-Encoding, its decimal value defines the expected message body length in octets." (The fixture tells llhttp to skip the body, as a client does for a response to HEAD: meta.skipBody; a request has no such case.)',
    llhttp: 'skips the 123-byte body on request (meta.skipBody) and parses the next request',
    rapid: (r) => {
      assert.equal(r.error, null);
      assert.equal(r.messages.length, 1);
      assert.equal(r.messages[0]!.contentLength, 123);
      assert.equal(r.messages[0]!.complete, false);
      assert.equal(r.finishedCleanly, false);
    },
  },
  'transfer-encoding: POST with `chunked` as last transfer-encoding': {
    rule: 'RFC 9112 §6.1: "A server that receives a request message with a transfer coding it does not understand SHOULD respond with 501 (Not Implemented)." Rapid decodes only chunked; a body it cannot decode is not handed to the application.',
    llhttp: 'accepts "deflate, chunked" and hands out the still-deflated body',
    rapid: rejects(E.HTTP1_UNSUPPORTED_TRANSFER_CODING),
  },
  'transfer-encoding: POST with `chunked` as last transfer-encoding (multiple headers)': {
    rule: 'RFC 9112 §6.1: "A server that receives a request message with a transfer coding it does not understand SHOULD respond with 501 (Not Implemented)."',
    llhttp: 'accepts "deflate" + "chunked" in two fields and hands out the still-deflated body',
    rapid: rejects(E.HTTP1_UNSUPPORTED_TRANSFER_CODING),
  },
  'invalid: HTTP protocol and ANNOUNCE method': {
    rule: 'RFC 9110 §9.1: "method = token"; methods are an open set (§16.1 Method Extensibility), so ANNOUNCE is a valid extension method over HTTP (501 only when rejectUnknownMethods is set).',
    llhttp: 'rejects ANNOUNCE with HTTP/1.1 (an RTSP-only method in its table)',
    rapid: (r) => {
      assert.equal(r.error, null);
      assert.equal(r.messages[0]!.method, 'ANNOUNCE');
    },
  },
  'method: CONNECT with body': {
    rule: 'RFC 9112 §6.3 (message body length, item 6): "If a valid Content-Length header field is present without Transfer-Encoding, its decimal value defines the expected message body length in octets"; RFC 9110 §9.3.6: "The interpretation of data sent in the content of a CONNECT request is not defined." Rapid frames the request by its Content-Length and hands the connection over after it.',
    llhttp: 'ignores Content-Length on CONNECT and treats the 10 bytes as tunnel data',
    rapid: (r) => {
      assert.equal(r.error, null);
      assert.equal(r.upgraded, true);
      assert.equal(r.messages[0]!.body.toString('latin1'), 'blarfcicle');
    },
  },
  'method: M-SEARCH request': {
    rule: 'RFC 9112 §3.2.4: "The asterisk-form of request-target is only used for a server-wide OPTIONS request"; M-SEARCH * is SSDP (HTTP over UDP), not HTTP/1.1.',
    llhttp: 'accepts M-SEARCH *',
    rapid: rejects(E.HTTP1_INVALID_TARGET),
  },
  'method: PRI request HTTP2': {
    rule: 'RFC 9112 §3.2.4: "The asterisk-form of request-target is only used for a server-wide OPTIONS request" (the real HTTP/2 preface, PRI * HTTP/2.0, gets 505: RFC 9110 §6.2).',
    llhttp: 'pauses for an HTTP/2 upgrade on PRI * HTTP/1.1',
    rapid: rejects(E.HTTP1_INVALID_TARGET),
  },
  'method: SOURCE request with ICE': {
    rule: 'RFC 9112 §2.3: "HTTP-version = HTTP-name "/" DIGIT "." DIGIT", "HTTP-name = %s"HTTP"" (ICE/1.0 is not HTTP).',
    llhttp: 'accepts ICE/1.0 with SOURCE (Icecast)',
    rapid: rejects(E.HTTP1_INVALID_VERSION),
  },
  'method: OPTIONS request with RTSP': {
    rule: 'RFC 9112 §2.3: "HTTP-name = %s"HTTP"" (RTSP/1.0 is not HTTP).',
    llhttp: 'accepts RTSP/1.0',
    rapid: rejects(E.HTTP1_INVALID_VERSION),
  },
  'method: ANNOUNCE request with RTSP': {
    rule: 'RFC 9112 §2.3: "HTTP-name = %s"HTTP"" (RTSP/1.0 is not HTTP).',
    llhttp: 'accepts RTSP/1.0',
    rapid: rejects(E.HTTP1_INVALID_VERSION),
  },
  'uri: `host:port` and basic auth': {
    rule: 'RFC 9110 §4.2.4: "A recipient SHOULD parse for userinfo and treat its presence as an error; it is likely being used to obscure the authority for the sake of phishing attacks."',
    llhttp: 'accepts userinfo in an absolute-form http target',
    rapid: rejects(E.HTTP1_INVALID_TARGET),
  },
  'sample: No HTTP version': {
    rule: 'RFC 9112 §3: "request-line = method SP request-target SP HTTP-version"; a line without a version is an HTTP/0.9 simple request, which Rapid does not serve (400).',
    llhttp: 'accepts GET / without a version (HTTP/0.9)',
    rapid: rejects(E.HTTP1_INVALID_REQUEST_LINE),
  },
};

/**
 * Lenient cases Rapid does not reject in strict mode, with the rule that makes that right.
 */
const LENIENT_NOT_REJECTED: Record<string, KnownDifference> = {
  'connection: Resetting flags when keep-alive is off (1.0, lenient)': {
    rule: 'RFC 9112 §9.3: an HTTP/1.0 request without "keep-alive" closes the connection after its response, and §9.6: the server "MUST NOT process any further requests received on that connection": the second request is never parsed.',
    llhttp: 'strict mode rejects the data after the HTTP/1.0 request; lenient parses it',
    rapid: (r) => {
      assert.equal(r.error, null);
      assert.equal(r.closed, true);
      assert.equal(r.messages.length, 1);
    },
  },
  'connection: CRLF between requests, explicit `close` (lenient)': {
    rule: 'RFC 9112 §9.6: after a request with "close" the server "MUST NOT process any further requests received on that connection": the trailing bytes are never parsed, so there is nothing to reject.',
    llhttp: 'strict mode rejects the data after the request; lenient parses it',
    rapid: (r) => {
      assert.equal(r.error, null);
      assert.equal(r.messages.length, 1);
      assert.equal(r.messages[0]!.keepAlive, false);
    },
  },
};

// ---------------------------------------------------------------------------------------------

function isHost(name: string): boolean {
  return name.toLowerCase() === 'host';
}

function lacksHost(m: LlhttpMessage): boolean {
  return m.version === '1.1' && !m.headers.some((h, k) => k % 2 === 0 && isHost(h));
}

/**
 * The input with `Host: rapid.test` after the request line of every HTTP/1.1 message that has
 * none, and the indexes of those messages; null when no message lacks Host.
 */
function withHost(c: LlhttpCase): { input: Buffer; added: Set<number> } | null {
  const points: number[] = [];
  const added = new Set<number>();
  c.messages.forEach((m, idx) => {
    if (m.versionEnd < 0 || !lacksHost(m)) return;
    if (c.input[m.versionEnd] !== 13 || c.input[m.versionEnd + 1] !== 10) return;
    points.push(m.versionEnd + 2);
    added.add(idx);
  });
  if (points.length === 0) return null;
  const parts: Buffer[] = [];
  let last = 0;
  for (const p of points) {
    parts.push(c.input.subarray(last, p), Buffer.from(`Host: ${ADDED_HOST}\r\n`));
    last = p;
  }
  parts.push(c.input.subarray(last));
  return { input: Buffer.concat(parts), added };
}

function trimOws(v: string): string {
  return v.replace(/^[ \t]+|[ \t]+$/g, '');
}

/** A Rapid (latin1) value against llhttp's log text; see the file comment. */
function sameText(rapid: string, log: string): boolean {
  return rapid === log || Buffer.from(rapid, 'latin1').equals(Buffer.from(log, 'utf8'));
}

function sameFields(rapid: string[], log: string[], addHost: boolean): string | null {
  const want = addHost ? ['host', ADDED_HOST, ...log] : log;
  if (rapid.length !== want.length)
    return `fields ${JSON.stringify(rapid)} vs ${JSON.stringify(want)}`;
  for (let k = 0; k < want.length; k += 2) {
    if (rapid[k] !== want[k]!.toLowerCase() || !sameText(rapid[k + 1]!, trimOws(want[k + 1]!))) {
      return `field ${k / 2}: ${JSON.stringify([rapid[k], rapid[k + 1]])} vs ${JSON.stringify([want[k], want[k + 1]])}`;
    }
  }
  return null;
}

// llhttp flags (llhttp.h): F_CONNECTION_KEEP_ALIVE 1, F_CONNECTION_CLOSE 2, F_CHUNKED 8,
// F_CONTENT_LENGTH 0x20.
function llhttpKeepAlive(m: LlhttpMessage): boolean {
  return m.version === '1.0' ? (m.flags & 1) !== 0 : (m.flags & 2) === 0;
}

interface Outcome {
  result: ParseResult;
  rejected: boolean;
  /** Rejected only once the line was terminated (input ended mid-line). */
  lateReject: boolean;
}

/**
 * Rapid's result for `input`. With `probe`, input that ends inside a message is also terminated
 * (CRLF CRLF) to see whether Rapid rejects it once its line is complete (see the file comment).
 */
function outcome(input: Buffer, probe: boolean): Outcome {
  const result = drive([input]);
  if (result.error !== null) return { result, rejected: true, lateReject: false };
  if (probe && !result.finishedCleanly && !result.upgraded) {
    const p = drive([input, CRLF2]);
    if (p.error !== null && p.error !== E.HTTP1_MISSING_HOST) {
      return { result, rejected: true, lateReject: true };
    }
  }
  return { result, rejected: false, lateReject: false };
}

/** Every way Rapid's result differs from llhttp's trace (empty: same). */
function differences(c: LlhttpCase, o: Outcome, added: Set<number>): string[] {
  const out: string[] = [];
  const r = o.result;
  const llRejects = c.error !== null;
  if (llRejects !== o.rejected) {
    out.push(
      `llhttp ${llRejects ? `rejects (${c.error!.reason})` : 'accepts'}, Rapid ${
        o.rejected ? `rejects (${r.error?.code ?? 'at end of line'})` : 'accepts'
      }`,
    );
  }
  const llComplete = c.messages.filter((m) => m.complete).length;
  const rComplete = r.messages.filter((m) => m.complete).length;
  if (llComplete !== rComplete) out.push(`messages: llhttp ${llComplete}, Rapid ${rComplete}`);
  if ((c.upgradePause !== null) !== r.upgraded) {
    out.push(`upgrade: llhttp ${c.upgradePause !== null}, Rapid ${r.upgraded}`);
  }
  c.messages.forEach((m, idx) => {
    if (!m.headersComplete) return;
    const a = r.messages[idx];
    if (a === undefined) {
      if (!llRejects) out.push(`message ${idx}: missing in Rapid`);
      return;
    }
    const at = `message ${idx}:`;
    if (a.method !== m.method) out.push(`${at} method ${a.method} vs ${m.method}`);
    if (!sameText(a.url, m.url)) out.push(`${at} url ${a.url} vs ${m.url}`);
    const f = sameFields(a.headers, m.headers, added.has(idx));
    if (f !== null) out.push(`${at} ${f}`);
    const chunked = (m.flags & 8) !== 0;
    if (a.chunked !== chunked) out.push(`${at} chunked ${a.chunked} vs ${chunked}`);
    if (!chunked && (m.flags & 0x20) !== 0 && a.contentLength !== m.contentLength) {
      out.push(`${at} content-length ${a.contentLength} vs ${m.contentLength}`);
    }
    if (a.keepAlive !== llhttpKeepAlive(m)) out.push(`${at} keep-alive ${a.keepAlive}`);
    if (m.complete) {
      if (!a.complete) out.push(`${at} incomplete in Rapid`);
      else {
        const body = a.body;
        if (!body.equals(m.body) && body.toString('latin1') !== m.body.toString('utf8')) {
          out.push(
            `${at} body ${JSON.stringify(body.toString('latin1'))} vs ${JSON.stringify(m.body.toString())}`,
          );
        }
        const t = sameFields(a.trailers, m.trailers, false);
        if (t !== null) out.push(`${at} trailers ${t}`);
      }
    }
  });
  return out;
}

/** Whole, one byte at a time and every 2-way split give the same result. */
function assertSplitInvariant(input: Buffer): void {
  const whole = summary(drive([input]));
  for (const chunks of splits(input)) {
    assert.deepEqual(
      summary(drive(chunks)),
      whole,
      `split into ${chunks.length} chunk(s) at ${chunks.length === 2 ? chunks[0]!.length : 'each byte'}`,
    );
  }
}

function effectiveInput(c: LlhttpCase): { input: Buffer; added: Set<number> } {
  const h = withHost(c);
  if (h === null) return { input: c.input, added: new Set() };
  return h;
}

// ---------------------------------------------------------------------------------------------

describe('llhttp request corpus', () => {
  it('loads the corpus', () => {
    assert.ok(ALL.length >= 160, `only ${ALL.length} cases`);
    assert.ok(STRICT.length >= 130);
    assert.ok(LENIENT.length >= 25);
    for (const id of [...Object.keys(KNOWN_DIFFERENCES), ...Object.keys(LENIENT_NOT_REJECTED)]) {
      assert.ok(
        ALL.some((c) => c.id === id),
        `KNOWN_DIFFERENCES names a case that does not exist: ${id}`,
      );
    }
  });

  describe('strict request cases', () => {
    let missingHost = 0;
    for (const c of STRICT) {
      it(`${c.id} (${c.file}.md:${c.line})`, () => {
        const { input, added } = effectiveInput(c);
        if (added.size > 0) {
          missingHost++;
          // As written: Rapid answers 400 for the first HTTP/1.1 request without Host.
          const raw = drive([c.input]);
          const fixed = outcome(input, c.error !== null);
          if (!fixed.rejected) {
            assert.equal(raw.error?.code, E.HTTP1_MISSING_HOST.code, MISSING_HOST_RULE);
            assert.equal(raw.messages.length, Math.min(...added));
          }
        }
        const o = outcome(input, c.error !== null);
        const diff = differences(c, o, added);
        const known = KNOWN_DIFFERENCES[c.id];
        if (known === undefined) {
          assert.deepEqual(diff, [], `differs from llhttp: ${diff.join('; ')}`);
        } else {
          assert.notDeepEqual(diff, [], `matches llhttp now: remove it from KNOWN_DIFFERENCES`);
          known.rapid(o.result);
        }
        assertSplitInvariant(input);
        if (added.size > 0) assertSplitInvariant(c.input);
      });
    }
    it('counts the HTTP/1.1 cases without Host', () => {
      assert.equal(missingHost, MISSING_HOST_CASES, MISSING_HOST_RULE);
    });
  });

  describe('lenient cases are rejected in strict mode', () => {
    for (const c of LENIENT) {
      it(`${c.id} [${c.type}] (${c.file}.md:${c.line})`, () => {
        // Add a Host where missing, so the rejection is for the leniency, not for Host.
        const { input } = effectiveInput(c);
        const o = outcome(input, true);
        const allowed = LENIENT_NOT_REJECTED[c.id];
        if (allowed === undefined) {
          assert.equal(o.rejected, true, `accepted in strict mode`);
          assert.notEqual(o.result.error?.code, E.HTTP1_MISSING_HOST.code);
        } else {
          assert.equal(o.rejected, false, 'now rejected: remove it from LENIENT_NOT_REJECTED');
          allowed.rapid(o.result);
        }
        assertSplitInvariant(input);
      });
    }
  });

  describe('end of input (request-finish cases)', () => {
    for (const c of FINISH) {
      it(`${c.id} (${c.file}.md:${c.line})`, () => {
        const { input } = effectiveInput(c);
        const r = drive([input]);
        assert.equal(r.error, null);
        // llhttp_finish(): 0 = safe to close here, 2 = a message was cut short.
        assert.equal(r.finishedCleanly, c.finish === 0);
        for (const chunks of splits(input)) {
          assert.equal(drive(chunks).finishedCleanly, c.finish === 0);
        }
      });
    }
  });
});
