/**
 * The access log: one line per response in Apache's common or combined format or as JSON, chosen
 * per site (by Host). common and combined lines are written byte by byte straight into the
 * LineWriter's batch buffer (no string is built per request; the timestamp is formatted once a
 * second, and escaping happens in the same pass as the copy); JSON lines are strings the writer
 * encodes. The LineWriter writes the batches.
 *
 *   common:   127.0.0.1 - - [01/Dec/2026:08:30:00 +0000] "GET / HTTP/1.1" 200 512
 *   combined: common + ` "referer" "user-agent"`
 *   json:     {"time":"2026-12-01T08:30:00.000Z","remote":"127.0.0.1","host":"example.com",...}
 */
import { isUtf8 } from 'node:buffer';
import { resolve } from 'node:path';
import { E, RapidError } from '../../core/errors.js';
import type { RapidRequest, ResponseObserver } from '../../core/types.js';
import { siteName } from './site.js';
import { checkLogPath, LineWriter } from './writer.js';

export type AccessLogFormat = 'common' | 'combined' | 'json';

export interface AccessLogOptions {
  /** A file (resolved against baseDir), 'stdout', or false for no log. */
  path: string | false;
  /** Default 'combined'. */
  format?: AccessLogFormat;
  /** The sites (Host names, '*.example.com' wildcards) this log is for; absent = every other. */
  hosts?: string[];
  /** Most bytes buffered while the disk is behind (default 4 MiB); lines past it are dropped. */
  maxBufferBytes?: number;
}

export interface AccessLog {
  /** The hook for serve({ onResponse }) / H1Options.onResponse. */
  readonly observe: ResponseObserver;
  /** Reopen every file (SIGUSR1, after logrotate renamed them). */
  reopen(): Promise<void>;
  flush(): Promise<void>;
  close(): Promise<void>;
  /** Lines dropped because a buffer was full. */
  dropped(): number;
}

type Formatter = (
  req: RapidRequest | null,
  status: number,
  bytes: number,
  headBytes: number,
  startMs: number,
  remote: string,
) => string;

/** Where an emitter puts a line: a LineWriter, or a scratch sink that makes a string of it. */
interface Sink {
  buf: Buffer;
  off: number;
  reserve(bytes: number, most?: number): boolean;
  commit(): void;
  write(line: string): void;
}

/** Writes one response's line into a sink (common and combined: byte by byte, no strings). */
type Emitter = (
  sink: Sink,
  req: RapidRequest | null,
  status: number,
  bytes: number,
  headBytes: number,
  startMs: number,
  remote: string,
) => void;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n));

/** "[01/Dec/2026:08:30:00 +0000]" in local time for `nowMs`. */
export function clfTimestamp(nowMs = Date.now()): string {
  const d = new Date(Math.floor(nowMs / 1000) * 1000);
  const off = -d.getTimezoneOffset();
  const sign = off < 0 ? '-' : '+';
  const abs = Math.abs(off);
  return (
    `[${pad2(d.getDate())}/${MONTHS[d.getMonth()]}/${d.getFullYear()}:` +
    `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())} ` +
    `${sign}${pad2(Math.floor(abs / 60))}${pad2(abs % 60)}]`
  );
}

// The current timestamp, formatted once a second: a timer (unref'd, armed only while lines are
// logged) clears it at the start of the next second, so a request reads no clock, as nginx's
// cached time and the Date header (src/util/date.ts) do.
let clfNow = '';
function clearClfNow(): void {
  clfNow = '';
}
function clfCurrent(): string {
  if (clfNow === '') {
    const now = Date.now();
    clfNow = clfTimestamp(now);
    setTimeout(clearClfNow, 1000 - (now % 1000)).unref();
  }
  return clfNow;
}

const HEX = '0123456789abcdef';

/** Copy a string known to be ASCII (addresses, the timestamp) to b at o. */
function putAscii(b: Buffer, o: number, s: string): number {
  for (let i = 0; i < s.length; i++) b[o++] = s.charCodeAt(i);
  return o;
}

/**
 * Copy s to b at o, escaped as Apache escapes %r, %{Referer}i and %{User-agent}i: '"' and '\'
 * with a backslash, control and non-ASCII bytes as \xhh (header values are latin1 strings, one
 * char per byte; anything wider is escaped per UTF-16 unit as \uhhhh). At most 6 bytes a char.
 */
function putEscaped(b: Buffer, o: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x5c) {
      b[o++] = c;
      continue;
    }
    b[o++] = 0x5c;
    if (c === 0x22 || c === 0x5c) b[o++] = c;
    else if (c < 0x100) {
      b[o++] = 0x78; // x
      b[o++] = HEX.charCodeAt(c >> 4);
      b[o++] = HEX.charCodeAt(c & 15);
    } else {
      b[o++] = 0x75; // u
      b[o++] = HEX.charCodeAt(c >> 12);
      b[o++] = HEX.charCodeAt((c >> 8) & 15);
      b[o++] = HEX.charCodeAt((c >> 4) & 15);
      b[o++] = HEX.charCodeAt(c & 15);
    }
  }
  return o;
}

/** A non-negative integer in decimal (anything else as String() has it; at most 24 bytes). */
function putNumber(b: Buffer, o: number, n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) return putAscii(b, o, String(n));
  let digits = 1;
  for (let m = n; m >= 10; m = Math.floor(m / 10)) digits++;
  let end = o + digits;
  for (let m = n; end > o; m = Math.floor(m / 10)) b[--end] = 0x30 + (m % 10);
  return o + digits;
}

/** A scratch sink: the emitters' output as a string (accessLogFormatter(), clfEscape()). */
class StringSink implements Sink {
  buf = Buffer.allocUnsafe(1024);
  off = 0;
  line = '';
  reserve(_bytes: number, most = _bytes): boolean {
    this.off = 0;
    this.line = '';
    if (this.buf.length < most) this.buf = Buffer.allocUnsafe(most);
    return true;
  }
  commit(): void {
    this.line = this.buf.toString('latin1', 0, this.off);
  }
  write(line: string): void {
    this.line = line;
  }
}
const scratch = new StringSink();

/** A value safe between double quotes in a CLF line. */
export function clfEscape(s: string): string {
  // A plain loop beats a regex test on the short strings of a log line.
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || c >= 0x7f) {
      scratch.reserve(s.length, s.length * 6);
      scratch.off = putEscaped(scratch.buf, 0, s);
      scratch.commit();
      return scratch.line;
    }
  }
  return s;
}

// eslint-disable-next-line no-control-regex
const JSON_PLAIN = /^[^"\\\x00-\x1f\x7f-\uffff]*$/;
const NON_ASCII = /[\x80-\uffff]/;
const WIDE = /[\u0100-\uffff]/;
const DEL = /\x7f/g;
/** `\u00XX` for the chars 0x7f-0xff (index c - 0x7f). */
const BYTE_ESCAPES = Array.from(
  { length: 0x81 },
  (_, i) => `\\u00${HEX[(0x7f + i) >> 4]}${HEX[(0x7f + i) & 15]}`,
);

/**
 * A JSON string of a logged field. Header values and targets are latin1 strings (one char per
 * byte, as they came off the wire). Printable ASCII is copied as is: the fast path, one regex test,
 * small enough to be inlined into the line's emitter. Anything else is jsonEscaped()'s.
 */
function jsonString(s: string): string {
  return JSON_PLAIN.test(s) ? `"${s}"` : jsonEscaped(s);
}

/**
 * Non-ASCII bytes that are valid UTF-8 as a whole are decoded, so the line carries the text
 * itself ("café"); otherwise each non-ASCII byte becomes a \u00XX escape of the byte. DEL is
 * always \u007f; quotes, backslashes and controls are JSON.stringify's escapes. Every line is thus
 * valid JSON and valid UTF-8. A string with chars wider than a byte (not from the wire) is
 * JSON.stringify's.
 */
function jsonEscaped(s: string): string {
  let text = s;
  if (NON_ASCII.test(s) && !WIDE.test(s)) {
    const bytes = Buffer.from(s, 'latin1');
    if (!isUtf8(bytes)) return escapeBytes(JSON.stringify(s));
    text = bytes.toString('utf8');
  }
  const j = JSON.stringify(text);
  return text.includes('\x7f') ? j.replace(DEL, '\\u007f') : j;
}

/** `j` with every char 0x7f-0xff as \u00XX (a JSON string of latin1 chars). */
function escapeBytes(j: string): string {
  let out = '';
  let from = 0;
  for (let i = 0; i < j.length; i++) {
    const c = j.charCodeAt(i);
    if (c >= 0x7f) {
      out += j.slice(from, i) + (BYTE_ESCAPES[c - 0x7f] as string);
      from = i + 1;
    }
  }
  return from === 0 ? j : out + j.slice(from);
}

/**
 * The bytes of the last value seen in one field, escaped: consecutive requests mostly repeat the
 * client address, the request line and the user agent (a keep-alive connection, a busy page), so
 * a repeat is one string comparison and one copy (TypedArray set) instead of a pass over every
 * char. Values longer than `MEMO_MAX` chars are escaped each time.
 */
class Memo {
  key: string | null = null;
  bytes = new Uint8Array(0);
}
const MEMO_MAX = 512;

/** Copy s escaped, from the memo when s is its last value (at most 6 bytes a char). */
function putMemo(b: Buffer, o: number, m: Memo, s: string): number {
  if (s === m.key) {
    b.set(m.bytes, o);
    return o + m.bytes.length;
  }
  const end = putEscaped(b, o, s);
  if (s.length <= MEMO_MAX) {
    m.key = s;
    m.bytes = Uint8Array.prototype.slice.call(b, o, end);
  }
  return end;
}

// "remote - - [time] \"", for the last address in the current second.
let prefixRemote: string | null = null;
let prefixTime = '';
let prefixBytes = new Uint8Array(0);
function putPrefix(b: Buffer, o: number, remote: string): number {
  const time = clfCurrent();
  if (remote !== prefixRemote || time !== prefixTime) {
    const start = o;
    o = putAscii(b, o, remote === '' ? '-' : remote);
    o = putAscii(b, o, ' - - ');
    o = putAscii(b, o, time);
    b[o++] = 0x20;
    b[o++] = 0x22;
    prefixRemote = remote;
    prefixTime = time;
    prefixBytes = Uint8Array.prototype.slice.call(b, start, o);
    return o;
  }
  b.set(prefixBytes, o);
  return o + prefixBytes.length;
}

// The last request line ("GET /a HTTP/1.1", escaped), keyed by its three parts.
let lineMethod = '';
let lineUrl: string | null = null;
let lineVersion = '';
let lineBytes = new Uint8Array(0);
function putRequestLine(b: Buffer, o: number, req: RapidRequest): number {
  const method = req.method;
  const url = req.url;
  const version = req.httpVersion;
  if (url === lineUrl && method === lineMethod && version === lineVersion) {
    b.set(lineBytes, o);
    return o + lineBytes.length;
  }
  const start = o;
  o = putEscaped(b, o, method);
  b[o++] = 0x20;
  o = putEscaped(b, o, url);
  o = putAscii(b, o, ' HTTP/');
  o = putEscaped(b, o, version);
  if (url.length <= MEMO_MAX) {
    lineMethod = method;
    lineUrl = url;
    lineVersion = version;
    lineBytes = Uint8Array.prototype.slice.call(b, start, o);
  }
  return o;
}

const refererMemo = new Memo();
const agentMemo = new Memo();

/**
 * common:   remote - - [time] "request line" status size
 * combined: common + ` "referer" "user-agent"`
 * The line's worst case (every char of the quoted fields escaped to 6 bytes) is reserved first,
 * then it is written without another check.
 */
function clf(withAgent: boolean): Emitter {
  return (sink, req, status, bytes, headBytes, _startMs, remote) => {
    const body = bytes - headBytes;
    let referer: string | undefined;
    let ua: string | undefined;
    let quoted = 1;
    if (req !== null) {
      quoted = req.method.length + req.url.length + req.httpVersion.length + 7;
      if (withAgent) {
        referer = req.header('referer');
        ua = req.header('user-agent');
        if (referer !== undefined) quoted += referer.length;
        if (ua !== undefined) quoted += ua.length;
      }
    }
    const fixed = remote.length + 96;
    if (!sink.reserve(fixed + quoted, fixed + quoted * 6)) return;
    const b = sink.buf;
    let o = putPrefix(b, sink.off, remote);
    if (req === null) b[o++] = 0x2d;
    else o = putRequestLine(b, o, req);
    b[o++] = 0x22;
    b[o++] = 0x20;
    o = putNumber(b, o, status);
    b[o++] = 0x20;
    if (body > 0) o = putNumber(b, o, body);
    else b[o++] = 0x2d;
    if (withAgent) {
      b[o++] = 0x20;
      b[o++] = 0x22;
      if (referer === undefined) b[o++] = 0x2d;
      else o = putMemo(b, o, refererMemo, referer);
      b[o++] = 0x22;
      b[o++] = 0x20;
      b[o++] = 0x22;
      if (ua === undefined) b[o++] = 0x2d;
      else o = putMemo(b, o, agentMemo, ua);
      b[o++] = 0x22;
    }
    b[o++] = 0x0a;
    sink.off = o;
    sink.commit();
  };
}

const json: Emitter = (sink, req, status, bytes, headBytes, startMs, remote) => {
  const ms = startMs > 0 ? Math.round((performance.now() - startMs) * 1000) / 1000 : 0;
  let line = `{"time":"${new Date().toISOString()}","remote":${jsonString(remote)}`;
  if (req !== null) {
    line +=
      `,"host":${jsonString(req.host)},"method":${jsonString(req.method)}` +
      `,"target":${jsonString(req.url)},"protocol":"HTTP/${req.httpVersion}"`;
  }
  line += `,"status":${status},"bytes":${bytes},"body_bytes":${Math.max(0, bytes - headBytes)},"duration_ms":${ms}`;
  if (req !== null) {
    const r = req.header('referer');
    if (r !== undefined) line += `,"referer":${jsonString(r)}`;
    const u = req.header('user-agent');
    if (u !== undefined) line += `,"user_agent":${jsonString(u)}`;
  }
  sink.write(`${line}}\n`);
};

const EMITTERS: Record<AccessLogFormat, Emitter> = {
  common: clf(false),
  combined: clf(true),
  json,
};

/** The formatter of one format as a string (with its newline), for tests and for other loggers. */
export function accessLogFormatter(format: AccessLogFormat): Formatter {
  const emit = EMITTERS[format];
  return (req, status, bytes, headBytes, startMs, remote) => {
    emit(scratch, req, status, bytes, headBytes, startMs, remote);
    return scratch.line;
  };
}

interface Target {
  writer: LineWriter;
  emit: Emitter;
}

/** A host matcher compiled from exact names and '*.suffix' wildcards. */
function hostMatcher(hosts: string[]): (host: string) => boolean {
  const exact = new Set<string>();
  const suffixes: string[] = [];
  for (const h of hosts) {
    const l = h.toLowerCase();
    if (l.startsWith('*.')) suffixes.push(l.slice(1));
    else exact.add(l);
  }
  return (host) =>
    exact.has(host) || suffixes.some((s) => host.endsWith(s) && host.length > s.length);
}

/** Validate the options synchronously (bad format, unopenable file) so mistakes surface at start. */
function validate(list: AccessLogOptions[]): void {
  for (const o of list) {
    if (o === null || typeof o !== 'object') {
      throw new RapidError(E.LOG_INVALID_OPTION, 'accessLog entries must be objects');
    }
    if (o.path !== false && (typeof o.path !== 'string' || o.path === '')) {
      throw new RapidError(
        E.LOG_INVALID_OPTION,
        'accessLog.path must be a file, "stdout" or false',
      );
    }
    if (o.format !== undefined && !Object.hasOwn(EMITTERS, o.format)) {
      throw new RapidError(
        E.LOG_INVALID_OPTION,
        `accessLog.format must be common, combined or json, got ${JSON.stringify(o.format)}`,
      );
    }
    if (
      o.hosts !== undefined &&
      (!Array.isArray(o.hosts) || o.hosts.some((h) => typeof h !== 'string'))
    ) {
      throw new RapidError(E.LOG_INVALID_OPTION, 'accessLog.hosts must be an array of host names');
    }
  }
}

/**
 * Open the access log(s). One entry, or one per site (`hosts`); the entry without `hosts` takes
 * every other request. Entries with the same path share one file and one writer.
 */
export async function createAccessLog(
  options: AccessLogOptions | AccessLogOptions[],
  { baseDir = process.cwd() }: { baseDir?: string } = {},
): Promise<AccessLog> {
  const list = Array.isArray(options) ? options : [options];
  validate(list);
  const writers = new Map<string, LineWriter>();
  const targetFor = async (o: AccessLogOptions): Promise<Target | null> => {
    if (o.path === false) return null;
    const path = o.path === 'stdout' ? 'stdout' : resolve(baseDir, o.path);
    let w = writers.get(path);
    if (w === undefined) {
      checkLogPath(path);
      w = await LineWriter.open(path, { maxBufferBytes: o.maxBufferBytes });
      writers.set(path, w);
    }
    return { writer: w, emit: EMITTERS[o.format ?? 'combined'] };
  };
  let fallback: Target | null = null;
  const bySite: { match: (h: string) => boolean; target: Target | null }[] = [];
  try {
    for (const o of list) {
      const t = await targetFor(o);
      if (o.hosts === undefined) fallback = t;
      else bySite.push({ match: hostMatcher(o.hosts), target: t });
    }
  } catch (err) {
    for (const w of writers.values()) await w.close();
    throw err;
  }

  let observe: ResponseObserver;
  if (bySite.length === 0) {
    const t = fallback;
    observe =
      t === null
        ? () => undefined
        : (req, status, bytes, headBytes, startMs, remote) =>
            t.emit(t.writer, req, status, bytes, headBytes, startMs, remote);
  } else {
    // Host -> target, remembered for the hosts seen (bounded: a client picks the Host header).
    const memo = new Map<string, Target | null>();
    const pick = (req: RapidRequest | null): Target | null => {
      const site = siteName(req);
      let t = memo.get(site);
      if (t === undefined) {
        t = fallback;
        for (const s of bySite) {
          if (s.match(site)) {
            t = s.target;
            break;
          }
        }
        if (memo.size < 1024) memo.set(site, t);
      }
      return t;
    };
    observe = (req, status, bytes, headBytes, startMs, remote) => {
      const t = pick(req);
      if (t !== null) t.emit(t.writer, req, status, bytes, headBytes, startMs, remote);
    };
  }
  const each = (fn: (w: LineWriter) => Promise<void>): Promise<void> =>
    Promise.all([...writers.values()].map(fn)).then(() => undefined);
  return {
    observe,
    reopen: () => each((w) => w.reopen()),
    flush: () => each((w) => w.flush()),
    close: () => each((w) => w.close()),
    dropped: () => [...writers.values()].reduce((n, w) => n + w.dropped, 0),
  };
}
