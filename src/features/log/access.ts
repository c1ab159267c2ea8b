/**
 * The access log: one line per response in Apache's common or combined format or as JSON, chosen
 * per site (by Host). Lines are formatted from the engine's ResponseObserver arguments with plain
 * string concatenation (the timestamp is formatted once a second) and handed to a LineWriter,
 * which writes them in batches.
 *
 *   common:   127.0.0.1 - - [01/Dec/2026:08:30:00 +0000] "GET / HTTP/1.1" 200 512
 *   combined: common + ` "referer" "user-agent"`
 *   json:     {"time":"2026-12-01T08:30:00.000Z","remote":"127.0.0.1","host":"example.com",...}
 */
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

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n));

let clfSecond = -1;
let clfTime = '';
/** "[01/Dec/2026:08:30:00 +0000]" in local time, formatted at most once a second. */
export function clfTimestamp(nowMs = Date.now()): string {
  const sec = Math.floor(nowMs / 1000);
  if (sec === clfSecond) return clfTime;
  const d = new Date(sec * 1000);
  const off = -d.getTimezoneOffset();
  const sign = off < 0 ? '-' : '+';
  const abs = Math.abs(off);
  clfTime =
    `[${pad2(d.getDate())}/${MONTHS[d.getMonth()]}/${d.getFullYear()}:` +
    `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())} ` +
    `${sign}${pad2(Math.floor(abs / 60))}${pad2(abs % 60)}]`;
  clfSecond = sec;
  return clfTime;
}

// Characters Apache escapes in %r, %{Referer}i and %{User-agent}i: '"', '\' and non-printables.
// eslint-disable-next-line no-control-regex
const ESCAPE_ALL = /["\\\x00-\x1f\x7f-\uffff]/g;
function hex(c: string): string {
  if (c === '"') return '\\"';
  if (c === '\\') return '\\\\';
  const code = c.charCodeAt(0);
  // Header values are latin1 strings (one char per byte); anything wider is escaped per unit.
  return code < 0x100
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`;
}
/** A value safe between double quotes in a CLF line. */
export function clfEscape(s: string): string {
  // A plain loop beats a regex test on the short strings of a log line.
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || c >= 0x7f) return s.replace(ESCAPE_ALL, hex);
  }
  return s;
}

// eslint-disable-next-line no-control-regex
const JSON_PLAIN = /^[^"\\\x00-\x1f\x7f-\uffff]*$/;
function jsonString(s: string): string {
  return JSON_PLAIN.test(s) ? `"${s}"` : JSON.stringify(s);
}

function requestLine(req: RapidRequest | null): string {
  return req === null ? '-' : clfEscape(`${req.method} ${req.url} HTTP/${req.httpVersion}`);
}

const common: Formatter = (req, status, bytes, headBytes, _start, remote) => {
  const body = bytes - headBytes;
  return `${remote || '-'} - - ${clfTimestamp()} "${requestLine(req)}" ${status} ${body > 0 ? body : '-'}\n`;
};

const combined: Formatter = (req, status, bytes, headBytes, _start, remote) => {
  const body = bytes - headBytes;
  let referer = '-';
  let ua = '-';
  if (req !== null) {
    const r = req.header('referer');
    if (r !== undefined) referer = clfEscape(r);
    const u = req.header('user-agent');
    if (u !== undefined) ua = clfEscape(u);
  }
  return `${remote || '-'} - - ${clfTimestamp()} "${requestLine(req)}" ${status} ${body > 0 ? body : '-'} "${referer}" "${ua}"\n`;
};

const json: Formatter = (req, status, bytes, headBytes, startMs, remote) => {
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
  return `${line}}\n`;
};

const FORMATTERS: Record<AccessLogFormat, Formatter> = { common, combined, json };

/** The formatter of one format, for tests and for other loggers. */
export function accessLogFormatter(format: AccessLogFormat): Formatter {
  return FORMATTERS[format];
}

interface Target {
  write: (line: string) => void;
  format: Formatter;
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
    if (o.format !== undefined && !Object.hasOwn(FORMATTERS, o.format)) {
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
    const writer = w;
    return { write: (line) => writer.write(line), format: FORMATTERS[o.format ?? 'combined'] };
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
            t.write(t.format(req, status, bytes, headBytes, startMs, remote));
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
      if (t !== null) t.write(t.format(req, status, bytes, headBytes, startMs, remote));
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
