/**
 * Rapid's HTTP/1.1 request parser (RFC 9112), incremental and strict.
 *
 * `execute(buf, off)` consumes bytes and returns the offset it reached; `event` says why it
 * stopped: it needs more input (all bytes consumed), a request head is complete, a body is
 * complete, or the input is malformed (`error` holds the catalog entry). The parser never throws
 * and never copies input except the tail of a line that straddles two reads.
 *
 * Head lines are found with `indexOf(LF)` (memchr); each line must end in CRLF (a bare LF or CR
 * is rejected: RFC 9112 §2.2 allows, but does not require, accepting bare LF, and the leniency is
 * a request-smuggling vector). Byte classes come from lookup tables. Header names are lowercased
 * and interned through a table of well-known names; values are decoded as latin1 (RFC 9110 §5.5).
 * Body bytes are handed to `onBody` as views into the input.
 */
import { E, type ErrorSpec } from '../core/errors.js';
import type { Limits } from '../core/types.js';
import { FIELD_VALUE, TARGET, TOKEN } from '../util/ascii.js';
import '../util/bytes.js';

/** All input consumed; call execute() again with the next chunk. */
export const EV_NEED_MORE = 0;
/** A request head is complete. If `hasBody` is false the request is complete too. */
export const EV_HEAD = 1;
/** The body of the current request is complete (`trailers` set for chunked bodies). */
export const EV_BODY_DONE = 2;
/** Malformed input: `error` says what; the parser stays in this state. */
export const EV_ERROR = 3;

// Parser states.
const S_REQUEST_LINE = 0;
const S_HEADERS = 1;
const S_BODY = 2;
const S_CHUNK_SIZE = 3;
const S_CHUNK_SIZE_WS = 4;
const S_CHUNK_EXT_NAME = 5;
const S_CHUNK_EXT_AFTER_NAME = 6;
const S_CHUNK_EXT_VALUE_START = 7;
const S_CHUNK_EXT_TOKEN = 8;
const S_CHUNK_EXT_QUOTED = 9;
const S_CHUNK_EXT_QUOTED_ESC = 10;
const S_CHUNK_EXT_AFTER_VALUE = 11;
const S_CHUNK_SIZE_LF = 12;
const S_CHUNK_DATA = 13;
const S_CHUNK_DATA_CR = 14;
const S_CHUNK_DATA_LF = 15;
const S_TRAILERS = 16;
const S_DEAD = 17;
const S_CHUNK_EXT_NAME_WS = 18;

const CR = 13;
const LF = 10;
const SP = 32;
const HTAB = 9;
const COLON = 58;

/** Most bytes of chunk extensions on one chunk-size line (extensions are ignored anyway). */
const MAX_CHUNK_EXT_BYTES = 4096;
/** Most leading zeros of a chunk size (RFC 9112 §7.1 allows any number; we bound the line). */
const MAX_CHUNK_SIZE_ZEROS = 64;
/** Most empty lines tolerated before a request line (RFC 9112 §2.2: "at least one"). */
const MAX_LEADING_EMPTY_LINES = 8;

/** Target forms (RFC 9112 §3.2). */
export const FORM_ORIGIN = 0;
export const FORM_ABSOLUTE = 1;
export const FORM_AUTHORITY = 2;
export const FORM_ASTERISK = 3;

const KNOWN_METHODS = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'CONNECT',
  'OPTIONS',
  'TRACE',
  'PATCH',
]);

/** Well-known header names in the casings clients send, mapped to one interned lowercase string. */
const HEADER_NAMES = new Map<string, string>();
for (const name of [
  'Host',
  'Connection',
  'Content-Length',
  'Content-Type',
  'Transfer-Encoding',
  'Accept',
  'Accept-Encoding',
  'Accept-Language',
  'Accept-Charset',
  'Authorization',
  'Cache-Control',
  'Cookie',
  'Expect',
  'Forwarded',
  'If-Match',
  'If-Modified-Since',
  'If-None-Match',
  'If-Range',
  'If-Unmodified-Since',
  'Origin',
  'Pragma',
  'Range',
  'Referer',
  'TE',
  'Trailer',
  'Upgrade',
  'User-Agent',
  'Keep-Alive',
  'Sec-WebSocket-Key',
  'Sec-WebSocket-Version',
  'Sec-WebSocket-Protocol',
  'Sec-WebSocket-Extensions',
  'Sec-Fetch-Site',
  'Sec-Fetch-Mode',
  'Sec-Fetch-Dest',
  'Sec-Fetch-User',
  'Upgrade-Insecure-Requests',
  'DNT',
  'Via',
  'X-Forwarded-For',
  'X-Forwarded-Proto',
  'X-Forwarded-Host',
  'X-Real-IP',
  'X-Requested-With',
  'Priority',
]) {
  const lower = name.toLowerCase();
  HEADER_NAMES.set(name, lower);
  HEADER_NAMES.set(lower, lower);
  HEADER_NAMES.set(name.toUpperCase(), lower);
}

/**
 * The same names by length, as lowercase bytes: a well-known name is recognised from the buffer
 * (case-insensitively) without decoding it or hashing a new string.
 */
const NAMES_BY_LENGTH: { bytes: Uint8Array; name: string }[][] = [];
for (const name of new Set(HEADER_NAMES.values())) {
  // `b | 0x20` below folds case only for letters; names with other bytes than a-z, 0-9 and "-"
  // (none today) are left to the Map.
  if (!/^[a-z0-9-]+$/.test(name)) continue;
  (NAMES_BY_LENGTH[name.length] ??= []).push({ bytes: Buffer.from(name, 'latin1'), name });
}

/**
 * The interned lowercase name of the token buf[start, end) (already checked to be a token) when
 * it is a well-known one, else null.
 */
function internName(buf: Buffer, start: number, end: number): string | null {
  const candidates = NAMES_BY_LENGTH[end - start];
  if (candidates !== undefined) {
    next: for (let c = 0; c < candidates.length; c++) {
      const cand = candidates[c]!;
      const bytes = cand.bytes;
      // Token bytes only: `| 0x20` maps A-Z to a-z and leaves digits and "-" as they are (the
      // other bytes it could fold into those, 0x0D and 0x10-0x19, are not token characters).
      for (let k = 0; k < bytes.length; k++) {
        if ((buf[start + k]! | 0x20) !== bytes[k]) continue next;
      }
      return cand.name;
    }
  }
  return null;
}

/**
 * Bytes of input decoded at once for the strings of a head (see MessageParser.text): a few
 * pipelined requests' worth, small enough that a head followed by a large body wastes little.
 */
const WINDOW_BYTES = 2048;

/** True when buf[start, end) holds only field-value bytes; unrolled by 8 (about 2x faster). */
function fieldValueBytes(buf: Buffer, start: number, end: number): boolean {
  let j = start;
  const t = FIELD_VALUE;
  for (; j + 8 <= end; j += 8) {
    if (
      (t[buf[j]!]! &
        t[buf[j + 1]!]! &
        t[buf[j + 2]!]! &
        t[buf[j + 3]!]! &
        t[buf[j + 4]!]! &
        t[buf[j + 5]!]! &
        t[buf[j + 6]!]! &
        t[buf[j + 7]!]!) !==
      1
    )
      return false;
  }
  for (; j < end; j++) if (t[buf[j]!] !== 1) return false;
  return true;
}

/** Most requests have no trailers: they all share this empty array. */
const NO_TRAILERS = Object.freeze([]) as unknown as string[];

/**
 * Other names seen, as sent, mapped to their lowercase form: an application's own headers
 * (X-Request-Id, traceparent, ...) come again and again. Bounded, so names made up by clients
 * cannot grow it without limit; past the bound they are simply lowercased each time.
 */
const OTHER_NAMES = new Map<string, string>();
const MAX_OTHER_NAMES = 512;

/**
 * The lowercase name of the token buf[start, end) that internName() did not know; `raw` is the
 * same bytes as a string (a slice of the parser's window: it is never kept, since it would keep
 * the whole window alive, so a new entry gets its own copy).
 */
function lowerName(raw: string, buf: Buffer, start: number, end: number): string {
  let lower = HEADER_NAMES.get(raw) ?? OTHER_NAMES.get(raw);
  if (lower === undefined) {
    const own = buf.latin1Slice(start, end);
    lower = own.toLowerCase();
    if (OTHER_NAMES.size < MAX_OTHER_NAMES && own.length <= 64) OTHER_NAMES.set(own, lower);
  }
  return lower;
}

/** Host header value characters: RFC 3986 reg-name / IP-literal / IPv4 plus ":" port. */
const HOST_CHAR = new Uint8Array(256);
for (const c of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~%!$&'()*+,;=:[]")
  HOST_CHAR[c.charCodeAt(0)] = 1;

function hexValue(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  const l = b | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

export class MessageParser {
  /** Why the last execute() returned (EV_*). */
  event = EV_NEED_MORE;
  /** Set when event is EV_ERROR. */
  error: ErrorSpec | null = null;
  /** Receives body bytes (views into the input; copy them to keep them past the call). */
  onBody: ((chunk: Buffer) => void) | null = null;

  // Results for the current request (valid from EV_HEAD).
  method = '';
  url = '';
  targetForm = FORM_ORIGIN;
  versionMinor = 1;
  rawHeaders: string[] = [];
  /** Host header value, or the authority of an absolute-form target (RFC 9112 §3.2.2). */
  host = '';
  /** Body length from Content-Length, -1 for chunked, 0 for none. */
  contentLength = 0;
  chunked = false;
  hasBody = false;
  keepAlive = true;
  /** Connection: upgrade together with an Upgrade header (or a CONNECT request). */
  upgrade = false;
  expectContinue = false;
  /** An Expect value other than 100-continue (answer 417). */
  expectUnsupported = false;
  /** Trailer fields of a chunked body (NO_TRAILERS, shared and frozen, until one arrives). */
  trailers: string[] = NO_TRAILERS;
  /** Body bytes received so far for the current request. */
  bodyReceived = 0;
  /** True while a request has started but not completed (for EOF handling). */
  inMessage = false;

  private state = S_REQUEST_LINE;
  private limits: Limits;
  /**
   * The input decoded as latin1 from `winStart` to `winEnd` (offsets in `winBuf`): one native
   * call per window instead of one per target and field value (each costs about as much as
   * decoding a whole 2 KB window); the strings handed out are slices of it.
   */
  private win = '';
  private winBuf: Buffer | null = null;
  private winStart = 0;
  private winEnd = 0;
  private carry: Buffer | null = null;
  /**
   * The field lines of earlier requests on this connection (see LineMemo), made when the
   * connection's second request starts: a connection that carries one request never pays for it.
   */
  private memo: LineMemo | null = null;
  /** Heads completed on this parser (only whether it is 0 matters). */
  private heads = 0;
  /** Characters of field lines this parser holds from earlier requests (for tests). */
  get rememberedChars(): number {
    return this.memo === null ? 0 : this.memo.bytes;
  }
  /** The CONN_* tokens of the field line field() just read (0 unless it was Connection). */
  private lineConn = 0;
  /** Where the value of the field line field() just read starts and ends, from the line start. */
  private lineVs = 0;
  private lineVe = 0;
  private headBytes = 0;
  private headerCount = 0;
  private emptyLines = 0;
  private hostCount = 0;
  private clSeen = false;
  private teCodings: string[] | null = null;
  /** The Connection tokens seen in this message (CONN_* bits). */
  private connTokens = 0;
  private hasUpgradeHeader = false;
  private remaining = 0;
  private chunkSize = 0;
  private chunkDigits = 0;
  private chunkSigDigits = 0;
  private extBytes = 0;

  constructor(limits: Limits) {
    this.limits = limits;
  }

  /** Parse from `buf[off]`. Returns the offset reached; see `event`. */
  execute(buf: Buffer, off: number): number {
    const reached = this.run(buf, off);
    // The caller is done with this input (all consumed, or it stops here).
    if (reached >= buf.length || this.event === EV_NEED_MORE || this.event === EV_ERROR)
      this.dropWindow();
    return reached;
  }

  private run(buf: Buffer, off: number): number {
    for (;;) {
      switch (this.state) {
        case S_REQUEST_LINE:
        case S_HEADERS:
        case S_TRAILERS:
          return this.lines(buf, off);
        case S_BODY: {
          const n = Math.min(buf.length - off, this.remaining);
          if (n > 0) {
            this.remaining -= n;
            this.bodyReceived += n;
            if (this.onBody !== null) this.onBody(buf.subarray(off, off + n));
            off += n;
          }
          if (this.remaining === 0) return this.bodyDone(off);
          this.event = EV_NEED_MORE;
          return off;
        }
        case S_CHUNK_DATA: {
          const n = Math.min(buf.length - off, this.remaining);
          if (n > 0) {
            this.remaining -= n;
            this.bodyReceived += n;
            if (this.onBody !== null) this.onBody(buf.subarray(off, off + n));
            off += n;
          }
          if (this.remaining === 0) {
            this.state = S_CHUNK_DATA_CR;
            continue;
          }
          this.event = EV_NEED_MORE;
          return off;
        }
        case S_DEAD:
          this.event = EV_ERROR;
          return off;
        default:
          off = this.chunkFraming(buf, off);
          if (this.state === S_DEAD) return off;
          if (off >= buf.length && this.state !== S_TRAILERS) {
            this.event = EV_NEED_MORE;
            return off;
          }
      }
    }
  }

  /**
   * Call at end of input. Returns true when the stream ended cleanly between requests, false
   * when a request was cut short (RFC 9112 §8: an incomplete message).
   */
  finish(): boolean {
    return !this.inMessage;
  }

  /** Drop everything: the connection is done with this parser. */
  kill(): void {
    this.state = S_DEAD;
    this.carry = null;
    this.dropWindow();
  }

  private fail(spec: ErrorSpec, off: number): number {
    this.error = spec;
    // A malformed message is an unfinished one, whichever byte it failed on.
    this.inMessage = true;
    this.event = EV_ERROR;
    this.state = S_DEAD;
    this.carry = null;
    return off;
  }

  private bodyDone(off: number): number {
    this.state = S_REQUEST_LINE;
    this.inMessage = false;
    this.event = EV_BODY_DONE;
    return off;
  }

  /** The line-oriented states: request line, header fields, trailer fields. */
  private lines(input: Buffer, off: number): number {
    let buf = input;
    let pos = off;
    // Add to a position in `buf` to get the position in `input` (non-zero only while `buf` is
    // the carried partial line joined with the rest of that line from `input`).
    let delta = 0;
    // Where to resume in `input` once the joined line in `buf` is used up. Error offsets inside
    // the carried bytes would lie before `off`; they are reported as `off`.
    let resume = off;
    if (this.carry !== null) {
      // Join only the straddling line, not the whole rest of the input (which may be a body).
      const carry = this.carry;
      this.carry = null;
      const lf = input.indexOf(LF, off);
      resume = lf === -1 ? input.length : lf + 1;
      buf = Buffer.allocUnsafe(carry.length + resume - off);
      carry.copy(buf, 0);
      input.copy(buf, carry.length, off, resume);
      pos = 0;
      delta = off - carry.length;
    }

    for (;;) {
      if (buf !== input && pos >= buf.length) {
        buf = input;
        pos = resume;
        delta = 0;
      }
      const lf = buf.indexOf(LF, pos);
      if (lf === -1) {
        // No LF in the rest of the input: keep the partial line (joined or not) for later.
        const pending = buf.length - pos;
        if (this.state === S_REQUEST_LINE) {
          // A trailing CR is the line's terminator, not part of the 414-checked line.
          const lineSoFar = pending > 0 && buf[buf.length - 1] === CR ? pending - 1 : pending;
          if (lineSoFar > this.limits.maxRequestLineBytes) {
            return this.fail(E.HTTP1_URI_TOO_LONG, input.length);
          }
          // A lone CR may still be an empty line between requests; anything else starts one.
          if (lineSoFar > 0) this.inMessage = true;
        } else if (this.headBytes + pending > this.limits.maxHeaderBytes) {
          return this.fail(E.HTTP1_HEADERS_TOO_LARGE, input.length);
        }
        if (pending > 0) this.carry = Buffer.from(buf.subarray(pos));
        this.event = EV_NEED_MORE;
        return input.length;
      }
      if (lf === pos || buf[lf - 1] !== CR)
        return this.fail(E.HTTP1_INVALID_LINE_ENDING, Math.max(off, lf + delta));
      const end = lf - 1;
      const next = lf + 1;
      const lineBytes = next - pos;
      if (this.state === S_REQUEST_LINE) {
        if (end === pos) {
          // RFC 9112 §2.2: a server SHOULD ignore at least one empty line before the request line.
          if (++this.emptyLines > MAX_LEADING_EMPTY_LINES) {
            return this.fail(E.HTTP1_INVALID_REQUEST_LINE, Math.max(off, pos + delta));
          }
          pos = next;
          continue;
        }
        this.inMessage = true;
        if (end - pos > this.limits.maxRequestLineBytes)
          return this.fail(E.HTTP1_URI_TOO_LONG, Math.max(off, pos + delta));
        const err = this.requestLine(buf, pos, end);
        if (err !== null) return this.fail(err, Math.max(off, pos + delta));
        this.headBytes = lineBytes;
        this.state = S_HEADERS;
        pos = next;
        continue;
      }
      this.headBytes += lineBytes;
      if (this.headBytes > this.limits.maxHeaderBytes) {
        return this.fail(E.HTTP1_HEADERS_TOO_LARGE, Math.max(off, pos + delta));
      }
      if (end === pos) {
        if (this.state === S_TRAILERS) return this.bodyDone(next + delta);
        const err = this.headComplete();
        if (err !== null) return this.fail(err, Math.max(off, pos + delta));
        this.event = EV_HEAD;
        return next + delta;
      }
      let err: ErrorSpec | null;
      const k = this.headerCount;
      const memo = this.state === S_HEADERS && k < MEMO_LINES ? this.lineMemo() : null;
      if (memo !== null && --memo.skip[k]! <= 0) {
        const line = this.text(buf, pos, end);
        if (line === memo.line[k]) {
          memo.misses[k] = 0;
          memo.skip[k] = 0;
          err = this.memoHit(memo, k);
        } else {
          this.lineConn = 0;
          err = this.field(buf, pos, end, false);
          if (err === null) this.remember(memo, k, buf, pos, end);
        }
      } else err = this.field(buf, pos, end, this.state === S_TRAILERS);
      if (err !== null) return this.fail(err, Math.max(off, pos + delta));
      pos = next;
    }
  }

  /**
   * buf[start, end) as a latin1 string, sliced from the decoded window when it covers the range.
   * The window is keyed by the Buffer object and dropped whenever the caller is done with an
   * input (all of it consumed, an error, kill), so a caller may refill the same Buffer for its
   * next read. (It must not change bytes it has not yet passed through execute().)
   */
  private text(buf: Buffer, start: number, end: number): string {
    if (buf !== this.winBuf || start < this.winStart || end > this.winEnd) {
      const winEnd = Math.min(buf.length, Math.max(end, start + WINDOW_BYTES));
      this.win = buf.latin1Slice(start, winEnd);
      this.winBuf = buf;
      this.winStart = start;
      this.winEnd = winEnd;
    }
    const base = this.winStart;
    return this.win.slice(start - base, end - base);
  }

  /** Forget the decoded window (its Buffer may be refilled by the caller). */
  private dropWindow(): void {
    this.winBuf = null;
    this.win = '';
    this.winEnd = 0;
  }

  private resetMessage(): void {
    this.rawHeaders = [];
    this.trailers = NO_TRAILERS;
    this.host = '';
    this.contentLength = 0;
    this.chunked = false;
    this.hasBody = false;
    this.keepAlive = true;
    this.upgrade = false;
    this.expectContinue = false;
    this.expectUnsupported = false;
    this.bodyReceived = 0;
    this.headerCount = 0;
    this.emptyLines = 0;
    this.hostCount = 0;
    this.clSeen = false;
    this.teCodings = null;
    this.connTokens = 0;
    this.hasUpgradeHeader = false;
  }

  /** request-line = method SP request-target SP HTTP-version (RFC 9112 §3). */
  private requestLine(buf: Buffer, start: number, end: number): ErrorSpec | null {
    this.resetMessage();
    let i = start;
    while (i < end && TOKEN[buf[i]!] === 1) i++;
    if (i === start || i >= end || buf[i] !== SP) {
      return i === start || (buf[i] !== SP && i < end)
        ? E.HTTP1_INVALID_METHOD
        : E.HTTP1_INVALID_REQUEST_LINE;
    }
    const method = methodName(buf, start, i);
    this.method = method;
    const ts = ++i;
    while (i < end && buf[i] !== SP) {
      if (TARGET[buf[i]!] !== 1) return E.HTTP1_INVALID_TARGET;
      i++;
    }
    if (i === ts) return E.HTTP1_INVALID_REQUEST_LINE;
    if (i >= end) return E.HTTP1_INVALID_REQUEST_LINE; // HTTP/0.9 style: no version
    const url = this.text(buf, ts, i);
    this.url = url;
    // HTTP-version = "HTTP" "/" DIGIT "." DIGIT, exactly, after a single SP.
    const v = i + 1;
    if (
      end - v !== 8 ||
      buf[v] !== 0x48 ||
      buf[v + 1] !== 0x54 ||
      buf[v + 2] !== 0x54 ||
      buf[v + 3] !== 0x50 ||
      buf[v + 4] !== 0x2f ||
      buf[v + 6] !== 0x2e
    ) {
      return E.HTTP1_INVALID_VERSION;
    }
    const major = buf[v + 5]! - 0x30;
    const minor = buf[v + 7]! - 0x30;
    if (major < 0 || major > 9 || minor < 0 || minor > 9) return E.HTTP1_INVALID_VERSION;
    // RFC 9110 §6.2: 1.x with x > 1 is served as the highest 1.x we support; other majors 505.
    if (major !== 1) return E.HTTP1_VERSION_NOT_SUPPORTED;
    this.versionMinor = minor === 0 ? 0 : 1;
    if (this.limits.rejectUnknownMethods && !KNOWN_METHODS.has(method)) {
      return E.HTTP1_METHOD_NOT_IMPLEMENTED;
    }
    return this.classifyTarget(method, url);
  }

  private classifyTarget(method: string, url: string): ErrorSpec | null {
    const c0 = url.charCodeAt(0);
    if (method === 'CONNECT') {
      // authority-form = uri-host ":" port (RFC 9112 §3.2.3), only for CONNECT.
      const colon = url.lastIndexOf(':');
      if (c0 === 0x2f || colon <= 0 || colon === url.length - 1) return E.HTTP1_INVALID_TARGET;
      for (let k = colon + 1; k < url.length; k++) {
        const d = url.charCodeAt(k);
        if (d < 0x30 || d > 0x39) return E.HTTP1_INVALID_TARGET;
      }
      if (!validHost(url)) return E.HTTP1_INVALID_TARGET;
      this.targetForm = FORM_AUTHORITY;
      this.host = url;
      return null;
    }
    if (c0 === 0x2f) {
      this.targetForm = FORM_ORIGIN;
      return null;
    }
    if (url === '*') {
      // asterisk-form only for OPTIONS (RFC 9112 §3.2.4).
      if (method !== 'OPTIONS') return E.HTTP1_INVALID_TARGET;
      this.targetForm = FORM_ASTERISK;
      return null;
    }
    // absolute-form: scheme ":" hier-part (RFC 3986 §3); scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
    const colon = url.indexOf(':');
    if (colon <= 0) return E.HTTP1_INVALID_TARGET;
    for (let k = 0; k < colon; k++) {
      const c = url.charCodeAt(k) | 0x20;
      const alpha = c >= 0x61 && c <= 0x7a;
      if (
        k === 0
          ? !alpha
          : !(alpha || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e)
      ) {
        return E.HTTP1_INVALID_TARGET;
      }
    }
    this.targetForm = FORM_ABSOLUTE;
    const scheme = colon === 4 || colon === 5 ? url.slice(0, colon).toLowerCase() : '';
    const isHttp = scheme === 'http' || scheme === 'https';
    if (url.startsWith('//', colon + 1)) {
      const as = colon + 3;
      let ae = as;
      while (ae < url.length) {
        const c = url.charCodeAt(ae);
        if (c === 0x2f || c === 0x3f || c === 0x23) break;
        ae++;
      }
      let authority = url.slice(as, ae);
      const at = authority.lastIndexOf('@');
      if (at !== -1) {
        // RFC 9110 §4.2.4: "A recipient SHOULD parse for userinfo and treat its presence as an
        // error; it is likely being used to obscure the authority for the sake of phishing".
        if (isHttp) return E.HTTP1_INVALID_TARGET;
        authority = authority.slice(at + 1);
      }
      // RFC 9110 §4.2.1: an "http" URI with an empty host "MUST reject it as invalid". The
      // authority becomes the request's host (RFC 9112 §3.2.2), so it must be a valid one.
      if (isHttp && (authority.length === 0 || authority.charCodeAt(0) === COLON)) {
        return E.HTTP1_INVALID_TARGET;
      }
      if (!validHost(authority)) return E.HTTP1_INVALID_TARGET;
      this.host = authority;
    } else if (isHttp) {
      // http-URI = "http" "://" authority path-abempty [ "?" query ] (RFC 9110 §4.2.1).
      return E.HTTP1_INVALID_TARGET;
    }
    return null;
  }

  /** field-line = field-name ":" OWS field-value OWS (RFC 9112 §5). */
  private field(buf: Buffer, start: number, end: number, trailer: boolean): ErrorSpec | null {
    const c0 = buf[start]!;
    // obs-fold (RFC 9112 §5.2) and whitespace before the first field (§2.2): reject.
    if (c0 === SP || c0 === HTAB) return E.HTTP1_OBS_FOLD;
    let i = start;
    while (i < end && TOKEN[buf[i]!] === 1) i++;
    if (i === end) return E.HTTP1_INVALID_HEADER_NAME;
    const ch = buf[i];
    if (ch !== COLON) {
      // RFC 9112 §5.1: whitespace between name and colon MUST be rejected with 400. Anything
      // else (including a space inside the name, "X Y: z") is an invalid name.
      if (ch === SP || ch === HTAB) {
        let j = i + 1;
        while (j < end && (buf[j] === SP || buf[j] === HTAB)) j++;
        if (j < end && buf[j] === COLON) return E.HTTP1_SPACE_BEFORE_COLON;
      }
      return E.HTTP1_INVALID_HEADER_NAME;
    }
    if (i === start) return E.HTTP1_INVALID_HEADER_NAME;
    let vs = i + 1;
    while (vs < end && (buf[vs] === SP || buf[vs] === HTAB)) vs++;
    let ve = end;
    while (ve > vs && (buf[ve - 1] === SP || buf[ve - 1] === HTAB)) ve--;
    if (!fieldValueBytes(buf, vs, ve)) return E.HTTP1_INVALID_HEADER_VALUE;
    const value = ve > vs ? this.text(buf, vs, ve) : '';
    this.lineVs = vs - start;
    this.lineVe = ve - start;
    if (++this.headerCount > this.limits.maxHeaderCount) return E.HTTP1_TOO_MANY_HEADERS;
    const name = internName(buf, start, i) ?? lowerName(this.text(buf, start, i), buf, start, i);
    if (trailer) {
      if (this.trailers === NO_TRAILERS) this.trailers = [];
      this.trailers.push(name, value);
      return null;
    }
    this.rawHeaders.push(name, value);
    switch (name) {
      case 'host':
        if (!hostBytes(buf, vs, ve)) return E.HTTP1_INVALID_HOST;
        return this.hostField(value);
      case 'connection':
        // The two values nearly every client sends, matched on the bytes; the rest tokenised.
        this.lineConn =
          ve - vs === 10 && sameLower(buf, vs, KEEP_ALIVE)
            ? CONN_KEEP_ALIVE
            : ve - vs === 5 && sameLower(buf, vs, CLOSE)
              ? CONN_CLOSE
              : connectionTokens(value);
        this.connTokens |= this.lineConn;
        return null;
      default:
        return this.otherField(name, value);
    }
  }

  /** The connection's LineMemo, made on its second request; null on its first. */
  private lineMemo(): LineMemo | null {
    if (this.memo === null && this.heads !== 0) this.memo = new LineMemo();
    return this.memo;
  }

  /** Remember field line `k`, just accepted by field(), for memoHit(). */
  private remember(memo: LineMemo, k: number, buf: Buffer, start: number, end: number): void {
    const old = memo.line[k];
    const misses = memo.misses[k]!;
    if (old !== undefined && misses < MEMO_MAX_MISSES) memo.misses[k] = misses + 1;
    memo.skip[k] = 1 << memo.misses[k]!;
    const bytes = memo.bytes - (old === undefined ? 0 : old.length) + (end - start);
    if (bytes > MEMO_MAX_BYTES) return; // over the budget: this position keeps what it had
    memo.bytes = bytes;
    // A string of its own: a slice of the decoded window would keep the whole window alive for
    // as long as the connection lives.
    const line = buf.latin1Slice(start, end);
    const h = this.rawHeaders;
    memo.line[k] = line;
    memo.name[k] = h[h.length - 2]!;
    memo.value[k] = line.slice(this.lineVs, this.lineVe);
    memo.conn[k] = this.lineConn;
  }

  /**
   * Field line `k` equals the one remembered at that position: its bytes passed field()'s
   * checks then, so only what depends on the rest of the message is done again (the field count,
   * Host's uniqueness, Content-Length's agreement, Transfer-Encoding's list, the flags).
   */
  private memoHit(memo: LineMemo, k: number): ErrorSpec | null {
    if (++this.headerCount > this.limits.maxHeaderCount) return E.HTTP1_TOO_MANY_HEADERS;
    const name = memo.name[k]!;
    const value = memo.value[k]!;
    this.rawHeaders.push(name, value);
    switch (name) {
      case 'host':
        return this.hostField(value);
      case 'connection':
        this.connTokens |= memo.conn[k]!;
        return null;
      default:
        return this.otherField(name, value);
    }
  }

  /** A Host field whose value is valid. */
  private hostField(value: string): ErrorSpec | null {
    if (++this.hostCount > 1) return E.HTTP1_DUPLICATE_HOST;
    if (this.targetForm === FORM_ORIGIN || this.targetForm === FORM_ASTERISK) this.host = value;
    return null;
  }

  /** What the fields other than Host and Connection mean for the framing. */
  private otherField(name: string, value: string): ErrorSpec | null {
    switch (name) {
      case 'content-length':
        return this.contentLengthField(value);
      case 'transfer-encoding':
        return this.transferEncodingField(value);
      case 'expect':
        if (value.length === 12 && value.toLowerCase() === '100-continue')
          this.expectContinue = true;
        else this.expectUnsupported = true;
        return null;
      case 'upgrade':
        this.hasUpgradeHeader = true;
        return null;
      default:
        return null;
    }
  }

  /** Content-Length = 1*DIGIT (RFC 9110 §8.6); repeats must agree. */
  private contentLengthField(value: string): ErrorSpec | null {
    if (value.length === 0) return E.HTTP1_INVALID_CONTENT_LENGTH;
    let n = 0;
    let big = false;
    for (let k = 0; k < value.length; k++) {
      const d = value.charCodeAt(k) - 0x30;
      if (d < 0 || d > 9) return E.HTTP1_INVALID_CONTENT_LENGTH;
      n = n * 10 + d;
      if (n > Number.MAX_SAFE_INTEGER) big = true;
    }
    // A valid length we cannot even count exactly (RFC 9110 §8.6: guard against conversion
    // overflow) is larger than any body we accept: 413, and before any precision is lost in
    // the comparison with another Content-Length.
    if (big) return E.HTTP1_BODY_TOO_LARGE;
    if (this.clSeen && n !== this.contentLength) return E.HTTP1_CONFLICTING_CONTENT_LENGTH;
    this.clSeen = true;
    this.contentLength = n;
    return null;
  }

  /** Transfer-Encoding = #transfer-coding; checked as a whole in headComplete(). */
  private transferEncodingField(value: string): ErrorSpec | null {
    const codings = (this.teCodings ??= []);
    let s = 0;
    while (s <= value.length) {
      let e = value.indexOf(',', s);
      if (e === -1) e = value.length;
      let a = s;
      let b = e;
      while (a < b && (value.charCodeAt(a) === SP || value.charCodeAt(a) === HTAB)) a++;
      while (b > a && (value.charCodeAt(b - 1) === SP || value.charCodeAt(b - 1) === HTAB)) b--;
      if (b > a) {
        // transfer-coding = token *( OWS ";" OWS transfer-parameter )
        const semi = value.indexOf(';', a);
        let tb = semi !== -1 && semi < b ? semi : b;
        while (tb > a && (value.charCodeAt(tb - 1) === SP || value.charCodeAt(tb - 1) === HTAB))
          tb--;
        for (let k = a; k < tb; k++) {
          const c = value.charCodeAt(k);
          if (c > 0xff || TOKEN[c] !== 1) return E.HTTP1_INVALID_TRANSFER_ENCODING;
        }
        if (tb === a) return E.HTTP1_INVALID_TRANSFER_ENCODING;
        codings.push(value.slice(a, tb).toLowerCase());
      }
      s = e + 1;
    }
    return null;
  }

  /** Framing decisions once all header fields are in (RFC 9112 §6.1, §6.3, §9.3). */
  private headComplete(): ErrorSpec | null {
    this.heads = 1;
    const http11 = this.versionMinor === 1;
    if (http11 && this.hostCount === 0) return E.HTTP1_MISSING_HOST;
    const te = this.teCodings;
    if (te !== null) {
      // A sender that is not HTTP/1.1 cannot use chunked; treat TE on 1.0 as an attack (§6.1).
      if (!http11) return E.HTTP1_TE_ON_HTTP10;
      // TE with Content-Length is a smuggling attempt; reject rather than pick one (§6.3 item 3).
      if (this.clSeen) return E.HTTP1_TE_WITH_CONTENT_LENGTH;
      if (te.length === 0 || te[te.length - 1] !== 'chunked')
        return E.HTTP1_INVALID_TRANSFER_ENCODING;
      for (let k = 0; k < te.length - 1; k++) {
        // chunked applied more than once (§7) is malformed; any other coding we cannot decode.
        if (te[k] === 'chunked') return E.HTTP1_INVALID_TRANSFER_ENCODING;
      }
      if (te.length > 1) return E.HTTP1_UNSUPPORTED_TRANSFER_CODING;
      this.chunked = true;
      this.contentLength = -1;
    }
    const conn = this.connTokens;
    this.keepAlive = (conn & CONN_CLOSE) === 0 && (http11 || (conn & CONN_KEEP_ALIVE) !== 0);
    // RFC 9110 §7.8: "A server MUST ignore an Upgrade header field that is received in an
    // HTTP/1.0 request."
    this.upgrade =
      this.method === 'CONNECT' || (http11 && (conn & CONN_UPGRADE) !== 0 && this.hasUpgradeHeader);
    // RFC 9110 §10.1.1: "A server that receives a 100-continue expectation in an HTTP/1.0
    // request MUST ignore that expectation."
    if (!http11) this.expectContinue = false;
    if (this.chunked) {
      this.hasBody = true;
      this.state = S_CHUNK_SIZE;
      this.chunkSize = 0;
      this.chunkDigits = 0;
      this.chunkSigDigits = 0;
    } else if (this.contentLength > 0) {
      if (this.contentLength > this.limits.maxBodyBytes) return E.HTTP1_BODY_TOO_LARGE;
      this.hasBody = true;
      this.remaining = this.contentLength;
      this.state = S_BODY;
    } else {
      this.state = S_REQUEST_LINE;
      this.inMessage = false;
    }
    return null;
  }

  /**
   * chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF; last-chunk = 1*"0" [ chunk-ext ] CRLF
   * (RFC 9112 §7.1), byte by byte so any split of the input works without buffering.
   */
  private chunkFraming(buf: Buffer, off: number): number {
    let i = off;
    const len = buf.length;
    while (i < len) {
      const b = buf[i]!;
      switch (this.state) {
        case S_CHUNK_SIZE: {
          const h = hexValue(b);
          if (h !== -1) {
            // Leading zeros are valid ("000A"); 13 significant hex digits (2^52) are far beyond
            // any body limit, so stop there before precision is lost. Leading zeros are bounded
            // too, so a chunk-size line cannot grow without end.
            this.chunkDigits++;
            if (this.chunkSize !== 0 || h !== 0) {
              if (++this.chunkSigDigits > 13) return this.fail(E.HTTP1_CHUNK_SIZE_OVERFLOW, i);
            } else if (this.chunkDigits > MAX_CHUNK_SIZE_ZEROS) {
              return this.fail(E.HTTP1_CHUNK_SIZE_OVERFLOW, i);
            }
            this.chunkSize = this.chunkSize * 16 + h;
            i++;
            continue;
          }
          if (this.chunkDigits === 0) return this.fail(E.HTTP1_INVALID_CHUNK_SIZE, i);
          if (b === CR) this.state = S_CHUNK_SIZE_LF;
          else if (b === 0x3b) {
            this.extBytes = 0;
            this.state = S_CHUNK_EXT_NAME;
            i++;
            // skip BWS after ";"
            continue;
          } else if (b === SP || b === HTAB) this.state = S_CHUNK_SIZE_WS;
          else return this.fail(E.HTTP1_INVALID_CHUNK_SIZE, i);
          i++;
          continue;
        }
        case S_CHUNK_SIZE_WS:
          // BWS before ";" of a chunk-ext (RFC 9112 §7.1.1).
          if (b === SP || b === HTAB) i++;
          else if (b === 0x3b) {
            this.extBytes = 0;
            this.state = S_CHUNK_EXT_NAME;
            i++;
          } else return this.fail(E.HTTP1_INVALID_CHUNK_SIZE, i);
          continue;
        case S_CHUNK_EXT_NAME:
        case S_CHUNK_EXT_AFTER_NAME:
        case S_CHUNK_EXT_VALUE_START:
        case S_CHUNK_EXT_TOKEN:
        case S_CHUNK_EXT_QUOTED:
        case S_CHUNK_EXT_QUOTED_ESC:
        case S_CHUNK_EXT_AFTER_VALUE:
        case S_CHUNK_EXT_NAME_WS:
          if (++this.extBytes > MAX_CHUNK_EXT_BYTES)
            return this.fail(E.HTTP1_INVALID_CHUNK_EXTENSION, i);
          if (!this.chunkExt(b)) return this.fail(E.HTTP1_INVALID_CHUNK_EXTENSION, i);
          i++;
          continue;
        case S_CHUNK_SIZE_LF:
          if (b !== LF) return this.fail(E.HTTP1_INVALID_LINE_ENDING, i);
          i++;
          if (this.chunkSize === 0) {
            this.state = S_TRAILERS;
            this.headBytes = 0;
            this.headerCount = 0;
            return i;
          }
          if (this.bodyReceived + this.chunkSize > this.limits.maxBodyBytes) {
            return this.fail(E.HTTP1_BODY_TOO_LARGE, i);
          }
          this.remaining = this.chunkSize;
          this.state = S_CHUNK_DATA;
          return i;
        case S_CHUNK_DATA_CR:
          if (b !== CR) return this.fail(E.HTTP1_INVALID_CHUNK_END, i);
          this.state = S_CHUNK_DATA_LF;
          i++;
          continue;
        case S_CHUNK_DATA_LF:
          if (b !== LF) return this.fail(E.HTTP1_INVALID_CHUNK_END, i);
          this.state = S_CHUNK_SIZE;
          this.chunkSize = 0;
          this.chunkDigits = 0;
          this.chunkSigDigits = 0;
          i++;
          continue;
        default:
          return i;
      }
    }
    return i;
  }

  /**
   * chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ), name a token,
   * value a token or quoted-string. Extensions are validated and ignored. Returns false on error.
   */
  private chunkExt(b: number): boolean {
    switch (this.state) {
      case S_CHUNK_EXT_NAME:
        if (TOKEN[b] === 1) {
          this.state = S_CHUNK_EXT_AFTER_NAME;
          return true;
        }
        return b === SP || b === HTAB; // BWS before the name
      case S_CHUNK_EXT_AFTER_NAME:
        if (TOKEN[b] === 1) return true;
        return this.afterExtItem(b, true);
      case S_CHUNK_EXT_VALUE_START:
        if (b === SP || b === HTAB) return true;
        if (b === 0x22) {
          this.state = S_CHUNK_EXT_QUOTED;
          return true;
        }
        if (TOKEN[b] === 1) {
          this.state = S_CHUNK_EXT_TOKEN;
          return true;
        }
        return false;
      case S_CHUNK_EXT_TOKEN:
        if (TOKEN[b] === 1) return true;
        return this.afterExtItem(b, false);
      case S_CHUNK_EXT_QUOTED:
        // qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text (RFC 9110 §5.6.4)
        if (b === 0x22) {
          this.state = S_CHUNK_EXT_AFTER_VALUE;
          return true;
        }
        if (b === 0x5c) {
          this.state = S_CHUNK_EXT_QUOTED_ESC;
          return true;
        }
        return FIELD_VALUE[b] === 1;
      case S_CHUNK_EXT_QUOTED_ESC:
        this.state = S_CHUNK_EXT_QUOTED;
        return FIELD_VALUE[b] === 1;
      case S_CHUNK_EXT_AFTER_VALUE:
        return this.afterExtItem(b, false);
      case S_CHUNK_EXT_NAME_WS:
        // BWS between the name and "=" (or before the next ";" / the CRLF).
        if (b === SP || b === HTAB) return true;
        return this.afterExtItem(b, true);
      default:
        return false;
    }
  }

  private afterExtItem(b: number, nameOnly: boolean): boolean {
    if (b === CR) {
      this.state = S_CHUNK_SIZE_LF;
      return true;
    }
    if (b === 0x3b) {
      this.state = S_CHUNK_EXT_NAME;
      return true;
    }
    if (b === SP || b === HTAB) {
      this.state = nameOnly ? S_CHUNK_EXT_NAME_WS : S_CHUNK_EXT_AFTER_VALUE;
      return true;
    }
    if (nameOnly && b === 0x3d) {
      this.state = S_CHUNK_EXT_VALUE_START;
      return true;
    }
    return false;
  }
}

function methodName(buf: Buffer, s: number, e: number): string {
  const len = e - s;
  const c = buf[s];
  // The common methods without allocating a new string each time.
  if (len === 3) {
    if (c === 0x47 && buf[s + 1] === 0x45 && buf[s + 2] === 0x54) return 'GET';
    if (c === 0x50 && buf[s + 1] === 0x55 && buf[s + 2] === 0x54) return 'PUT';
  } else if (len === 4) {
    if (c === 0x50 && buf[s + 1] === 0x4f && buf[s + 2] === 0x53 && buf[s + 3] === 0x54)
      return 'POST';
    if (c === 0x48 && buf[s + 1] === 0x45 && buf[s + 2] === 0x41 && buf[s + 3] === 0x44)
      return 'HEAD';
  }
  const m = buf.latin1Slice(s, e);
  return KNOWN_METHODS.has(m) ? internKnown(m) : m;
}

const INTERNED = new Map<string, string>([...KNOWN_METHODS].map((m) => [m, m]));
function internKnown(m: string): string {
  return INTERNED.get(m) ?? m;
}

/** Field lines per head remembered for the next request on the connection (LineMemo). */
const MEMO_LINES = 32;
/**
 * Characters of remembered lines per connection: typical heads fit (Host, User-Agent, Accept-*,
 * a cookie), and 10,000 idle connections hold at most 40 MB of them.
 */
const MEMO_MAX_BYTES = 4096;
/** LineMemo.skip grows to 2^MEMO_MAX_MISSES requests. */
const MEMO_MAX_MISSES = 6;

/**
 * A connection's field lines from earlier requests, by position in the head: a line equal to the
 * one remembered at its position passed every check of field() then, so its name, value and
 * Connection tokens are taken from here instead of being checked and decoded again. Clients
 * repeat most lines on a connection (Host, User-Agent, Accept-*, Cookie …).
 */
class LineMemo {
  readonly line: string[] = [];
  readonly name: string[] = [];
  readonly value: string[] = [];
  /** The CONN_* tokens of a remembered Connection line (0 for other fields). */
  readonly conn: number[] = [];
  /**
   * Misses in a row at each position, and the requests to let pass before comparing there again
   * (2^misses, at most 2^MEMO_MAX_MISSES): where every request differs (a request id, a changing
   * Accept), the comparison and the copy it keeps soon stop costing anything.
   */
  readonly misses: number[] = new Array<number>(MEMO_LINES).fill(0);
  readonly skip: number[] = new Array<number>(MEMO_LINES).fill(0);
  /** Characters held in `line`, at most MEMO_MAX_BYTES (idle connections keep them). */
  bytes = 0;
}

/** Connection header tokens (RFC 9110 §7.6.1) the engine acts on, as bits. */
const CONN_CLOSE = 1;
const CONN_KEEP_ALIVE = 2;
const CONN_UPGRADE = 4;

/** The CONN_* bits of a Connection value: a comma-separated list of case-insensitive tokens. */
function connectionTokens(value: string): number {
  let bits = 0;
  let s = 0;
  while (s <= value.length) {
    let e = value.indexOf(',', s);
    if (e === -1) e = value.length;
    const tok = value.slice(s, e).trim().toLowerCase();
    if (tok === 'close') bits |= CONN_CLOSE;
    else if (tok === 'keep-alive') bits |= CONN_KEEP_ALIVE;
    else if (tok === 'upgrade') bits |= CONN_UPGRADE;
    s = e + 1;
  }
  return bits;
}

/** validHost() on buf[start, end), from the bytes. */
function hostBytes(buf: Buffer, start: number, end: number): boolean {
  for (let k = start; k < end; k++) if (HOST_CHAR[buf[k]!] !== 1) return false;
  return true;
}

const KEEP_ALIVE = Buffer.from('keep-alive', 'latin1');
const CLOSE = Buffer.from('close', 'latin1');

/**
 * True when buf[start, start + lower.length) is `lower` (lowercase letters and "-") in any case.
 * `| 0x20` folds A-Z onto a-z; of the other bytes it maps only "\r" (0x0D) onto "-" (0x2D), and
 * a field value never holds a CR.
 */
function sameLower(buf: Buffer, start: number, lower: Uint8Array): boolean {
  for (let k = 0; k < lower.length; k++) if ((buf[start + k]! | 0x20) !== lower[k]) return false;
  return true;
}

/** Host = uri-host [ ":" port ] (RFC 9110 §7.2); empty allowed. Rejects "/", "?", "@", spaces. */
export function validHost(value: string): boolean {
  for (let k = 0; k < value.length; k++) {
    const c = value.charCodeAt(k);
    if (c > 0xff || HOST_CHAR[c] !== 1) return false;
  }
  return true;
}
