/**
 * What FastCGI (src/features/fastcgi) and CGI (src/features/cgi) share on the way in: finding the
 * script a request names below the document root, and the CGI/1.1 meta-variables (RFC 3875 §4.1)
 * plus what PHP expects (SCRIPT_FILENAME, REQUEST_URI, DOCUMENT_ROOT, HTTPS, REDIRECT_STATUS).
 *
 * Path safety is the static handler's (src/features/static/path.ts): the request path is decoded
 * once, dot segments, controls, backslashes and encoded slashes are refused, and the real path of
 * the script must lie inside the real root. Any refusal is a 404: a script that cannot be named
 * safely does not exist.
 */
import { stat, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import type { RapidRequest } from '../core/types.js';
import { clock } from '../util/clock.js';
import { decodePath, isInside, resolveInside } from './static/path.js';

/** The script a request resolved to. */
export interface ScriptTarget {
  /** Absolute path of the script file (below the root). */
  readonly filename: string;
  /** The URL path of the script ("/app/index.php"), decoded. */
  readonly scriptName: string;
  /** What follows the script in the URL path ("/extra/info"), decoded; "" when nothing. */
  readonly pathInfo: string;
}

/** Dot segments a script path may contain (RFC 8615 well-known URIs); others are hidden. */
const ALLOWED_DOT: ReadonlySet<string> = new Set(['.well-known']);

/** Segments of a request path, or null when the path is unsafe. */
function segmentsOf(rawPath: string): { segments: string[]; trailingSlash: boolean } | null {
  const d = decodePath(rawPath, ALLOWED_DOT);
  return typeof d === 'number' ? null : d;
}

async function fileInside(root: string, path: string): Promise<string | null> {
  try {
    const real = await realpath(path);
    if (!isInside(root, real)) return null;
    const st = await stat(real);
    return st.isFile() ? path : null;
  } catch {
    return null;
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

function joinUrl(segments: readonly string[], from: number, to: number): string {
  let s = '';
  for (let i = from; i < to; i++) s += `/${segments[i]}`;
  return s;
}

/**
 * How a handler finds its scripts.
 * - `extensions` given (FastCGI): a segment ending in one of them is the script, the rest of the
 *   path is PATH_INFO (when `splitPathInfo`); a path without one is a directory (index) or not
 *   the handler's (null).
 * - `extensions` null (CGI, a cgi-bin directory): the longest leading run of segments that names a
 *   regular file is the script; the rest is PATH_INFO.
 */
export interface ScriptLookup {
  /** Real path of the document root. */
  readonly root: string;
  readonly index: readonly string[];
  readonly extensions: readonly string[] | null;
  readonly splitPathInfo: boolean;
}

/** Result of findScript: a script, "not found" (404), or "not mine" (next handler). */
export type ScriptResult = ScriptTarget | 'not-found' | 'not-mine';

export async function findScript(lookup: ScriptLookup, rawPath: string): Promise<ScriptResult> {
  const d = segmentsOf(rawPath);
  if (d === null) return 'not-found';
  const { segments } = d;
  const root = lookup.root;
  const exts = lookup.extensions;
  if (exts !== null) {
    const matches = (seg: string): boolean =>
      exts.some((e) => seg.length > e.length && seg.endsWith(e));
    let end = -1;
    if (lookup.splitPathInfo) {
      end = segments.findIndex(matches) + 1 || -1;
    } else if (segments.length > 0 && matches(segments[segments.length - 1] as string)) {
      end = segments.length;
    }
    if (end !== -1) {
      const path = resolveInside(root, segments.slice(0, end));
      if (path === undefined) return 'not-found';
      const file = await fileInside(root, path);
      if (file === null) return 'not-found';
      let pathInfo = joinUrl(segments, end, segments.length);
      if (d.trailingSlash && end < segments.length) pathInfo += '/';
      else if (d.trailingSlash && end === segments.length) pathInfo = '/';
      return { filename: file, scriptName: joinUrl(segments, 0, end), pathInfo };
    }
    return indexOf(lookup, segments, 'not-mine');
  }
  // cgi-bin style: walk down until a regular file.
  let dir = root;
  for (let i = 0; i < segments.length; i++) {
    const path = join(dir, segments[i] as string);
    if (!isInside(root, path)) return 'not-found';
    let st;
    try {
      st = await stat(path);
    } catch {
      return 'not-found';
    }
    if (st.isFile()) {
      const file = await fileInside(root, path);
      if (file === null) return 'not-found';
      let pathInfo = joinUrl(segments, i + 1, segments.length);
      if (d.trailingSlash && pathInfo !== '') pathInfo += '/';
      return { filename: file, scriptName: joinUrl(segments, 0, i + 1), pathInfo };
    }
    if (!st.isDirectory()) return 'not-found';
    dir = path;
  }
  return indexOf(lookup, segments, 'not-found');
}

/** The index script of the directory `segments` names, if there is one. */
async function indexOf(
  lookup: ScriptLookup,
  segments: readonly string[],
  otherwise: 'not-found' | 'not-mine',
): Promise<ScriptResult> {
  const dir = resolveInside(lookup.root, segments);
  if (dir === undefined) return 'not-found';
  if (lookup.index.length === 0 || !(await isDirectory(dir))) return otherwise;
  for (const name of lookup.index) {
    const file = await fileInside(lookup.root, join(dir, name));
    if (file !== null) {
      return {
        filename: file,
        scriptName: `${joinUrl(segments, 0, segments.length)}/${name}`,
        pathInfo: '',
      };
    }
  }
  return otherwise;
}

/** How long a resolved path is trusted before the file system is asked again. */
const CACHE_MS = 1000;
const CACHE_MAX = 1024;

/**
 * findScript with a short memory: a path that resolved to a script (or to "not mine") within the
 * last second is not looked up again, so a busy PHP page costs no realpath/stat per request (nginx
 * does none at all; php-fpm opens the script itself). Misses are never remembered, so a new script
 * is found at once; a removed one is found missing within a second. Bounded: cleared when full.
 */
export class ScriptCache {
  private readonly map = new Map<string, { result: ScriptResult; at: number }>();
  constructor(private readonly lookup: ScriptLookup) {}

  find(rawPath: string): ScriptResult | Promise<ScriptResult> {
    const hit = this.map.get(rawPath);
    if (hit !== undefined && clock.now - hit.at < CACHE_MS) return hit.result;
    return findScript(this.lookup, rawPath).then((result) => {
      if (result !== 'not-found') {
        if (this.map.size >= CACHE_MAX) this.map.clear();
        this.map.set(rawPath, { result, at: clock.now });
      } else this.map.delete(rawPath);
      return result;
    });
  }
}

/** Variables holding decoded paths (JS strings): UTF-8 on the wire, not latin1. */
export const PATH_VARIABLES = [
  'SCRIPT_NAME',
  'SCRIPT_FILENAME',
  'PATH_INFO',
  'PATH_TRANSLATED',
  'DOCUMENT_ROOT',
  'DOCUMENT_URI',
] as const;

/**
 * Turn the path variables into byte strings (each char one UTF-8 byte), so that every value is
 * a latin1 byte string like the header values, and a FastCGI server sees the file name's bytes.
 */
export function pathsAsBytes(env: Record<string, string>): void {
  for (const k of PATH_VARIABLES) {
    const v = env[k];
    if (v !== undefined && /[^ -~]/.test(v)) env[k] = Buffer.from(v, 'utf8').toString('latin1');
  }
}

/** Host header split into SERVER_NAME and SERVER_PORT (default by scheme). */
function splitHost(host: string, secure: boolean): [string, string] {
  const dflt = secure ? '443' : '80';
  if (host.length === 0) return ['', dflt];
  if (host.charCodeAt(0) === 0x5b) {
    const close = host.indexOf(']');
    if (close !== -1) {
      const port = host.charCodeAt(close + 1) === 0x3a ? host.slice(close + 2) : '';
      return [host.slice(0, close + 1), port.length > 0 ? port : dflt];
    }
    return [host, dflt];
  }
  const colon = host.lastIndexOf(':');
  if (colon === -1) return [host, dflt];
  const port = host.slice(colon + 1);
  return [host.slice(0, colon), port.length > 0 ? port : dflt];
}

/** Options of the environment (FastCGI `params`, CGI `env`), applied last. */
export interface CgiEnvInput {
  readonly req: RapidRequest;
  readonly target: ScriptTarget;
  readonly documentRoot: string;
  /** The body length when known (a chunked body is read whole first so PHP sees a length). */
  readonly contentLength: number;
  readonly extra: Readonly<Record<string, string>> | undefined;
}

const SOFTWARE = 'Rapid';

/**
 * What a script gets for a request: the body, read whole first when it is chunked (a script
 * needs CONTENT_LENGTH; bounded by maxBodyBytes), else null (stream it), and the CGI variables.
 */
export async function scriptRequest(
  req: RapidRequest,
  target: ScriptTarget,
  documentRoot: string,
  extra: Readonly<Record<string, string>> | undefined,
): Promise<{ body: Buffer | null; vars: Record<string, string> }> {
  const body = req.hasBody && req.contentLength < 0 ? await req.body() : null;
  const contentLength = body !== null ? body.length : req.hasBody ? req.contentLength : 0;
  return { body, vars: cgiVariables({ req, target, documentRoot, contentLength, extra }) };
}

/**
 * The CGI/1.1 meta-variables of a request as [name, value] pairs (RFC 3875 §4.1, plus the ones
 * PHP and common FastCGI apps read). Request headers become HTTP_<NAME> with "-" as "_", except:
 * Content-Type/-Length (they are CONTENT_TYPE/CONTENT_LENGTH), Proxy (httpoxy: CGI programs read
 * HTTP_PROXY as their outgoing proxy), and names containing "_" (they would be indistinguishable
 * from the "-" spelling, so "X_Forwarded_For" could pose as X-Forwarded-For; nginx drops them
 * too).
 */
export function cgiVariables(input: CgiEnvInput): Record<string, string> {
  const { req, target } = input;
  const [serverName, serverPort] = splitHost(req.host, req.secure);
  const search = req.search;
  const env: Record<string, string> = Object.create(null) as Record<string, string>;
  env.GATEWAY_INTERFACE = 'CGI/1.1';
  env.SERVER_SOFTWARE = SOFTWARE;
  env.SERVER_PROTOCOL = req.httpVersion === '2.0' ? 'HTTP/2' : `HTTP/${req.httpVersion}`;
  env.SERVER_NAME = serverName;
  env.SERVER_PORT = serverPort;
  env.REQUEST_METHOD = req.method;
  env.REQUEST_SCHEME = req.secure ? 'https' : 'http';
  if (req.secure) env.HTTPS = 'on';
  env.REQUEST_URI = req.path + search;
  env.DOCUMENT_URI = target.scriptName + target.pathInfo;
  env.QUERY_STRING = search.length > 0 ? search.slice(1) : '';
  env.SCRIPT_NAME = target.scriptName;
  env.SCRIPT_FILENAME = target.filename;
  env.DOCUMENT_ROOT = input.documentRoot;
  env.PATH_INFO = target.pathInfo;
  if (target.pathInfo !== '') env.PATH_TRANSLATED = input.documentRoot + target.pathInfo;
  env.REMOTE_ADDR = req.remoteAddress;
  env.REMOTE_PORT = String(req.remotePort);
  // php-cgi refuses to run without it (cgi.force_redirect); harmless elsewhere.
  env.REDIRECT_STATUS = '200';
  if (req.hasBody || input.contentLength > 0) env.CONTENT_LENGTH = String(input.contentLength);
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    if (name === 'content-type') {
      env.CONTENT_TYPE = value;
      continue;
    }
    if (name === 'content-length' || name === 'proxy' || name.includes('_')) continue;
    const key = `HTTP_${name.toUpperCase().replaceAll('-', '_')}`;
    const prev = env[key];
    env[key] = prev === undefined ? value : `${prev}${name === 'cookie' ? '; ' : ', '}${value}`;
  }
  if (input.extra !== undefined) Object.assign(env, input.extra);
  return env;
}

/** Validate a Record<string, string> option (params, env). */
export function isStringRecord(v: unknown): v is Record<string, string> {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    Object.values(v as object).every((x) => typeof x === 'string')
  );
}
