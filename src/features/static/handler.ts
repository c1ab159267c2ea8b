/**
 * Static files as a Rapid handler: `createStaticHandler(options)` returns
 * `(req, res, next?) => void | Promise<void>`, usable directly as serve()'s handler.
 *
 * The path of a request:
 *  1. GET/HEAD with a cached entry for the raw path: pick the representation (Accept-Encoding),
 *     evaluate preconditions and Range, and answer with one sendPrepared(). Synchronous unless
 *     the entry is due for its stat check or a compressed variant is built for the first time.
 *  2. Otherwise decode and check the path (path.ts), find the real file below the root, and
 *     either load it into the cache (small files) or stream it from an open file handle.
 *
 * docs/static.md describes every option, the cache guarantee and the safety rules.
 */
import { constants as fsc } from 'node:fs';
import type { Stats } from 'node:fs';
import { open, readdir, realpath, stat, type FileHandle } from 'node:fs/promises';
import { statSync, realpathSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import zlib from 'node:zlib';
import { promisify } from 'node:util';
import { E, RapidError, type ErrorSpec } from '../../core/errors.js';
import type { PreparedResponse, RapidRequest, RapidResponse } from '../../core/types.js';
import { clock } from '../../util/clock.js';
import {
  compileCacheControl,
  type CacheControlFn,
  type CacheControlRule,
} from './cache-control.js';
import { Entry, OutputCache, type FileId, type OutputCacheOptions, type Variant } from './cache.js';
import { evaluateConditions, ifRangeAllows, makeEtag, type Conditions } from './conditional.js';
import { ALL_CODINGS, Negotiator, type Coding } from './encoding.js';
import { renderListing, type ListingEntry } from './listing.js';
import { MimeResolver, type MediaType } from './mime.js';
import { decodePath, isInside, PathError, resolveInside } from './path.js';
import { parseRange, RANGE_UNSATISFIABLE, type ByteRange } from './range.js';

export interface CompressionOptions {
  /** Codings offered, in the server's order of preference on equal q (default br, gzip, deflate). */
  encodings?: readonly Coding[];
  /** Smallest body compressed, in bytes (default 1024): below it the savings do not pay. */
  minSize?: number;
  /** Brotli quality for cached variants, built once per file (0-11, default 9). */
  brotliQuality?: number;
  /** gzip/deflate level for cached variants (1-9, default 9). */
  gzipLevel?: number;
  /** Brotli quality for files streamed through the compressor (default 4: fast). */
  streamBrotliQuality?: number;
  /** gzip/deflate level for streamed files (default 6). */
  streamGzipLevel?: number;
  /**
   * Media types ("application/json") or families ("text/*") compressed, instead of mime-db's
   * `compressible` flag (default: that flag). Already compressed formats never are.
   */
  types?: readonly string[];
}

export interface StaticOptions {
  /** The document root (must exist and be a directory; resolved once, symlinks included). */
  root: string;
  /** Mount path stripped from the request path ("/static"); default "/" (the whole space). */
  prefix?: string;
  /** Default documents tried in order for a directory; false for none (default ["index.html"]). */
  index?: readonly string[] | false;
  /** Redirect `/dir` to `/dir/` with 301, keeping the query (default true; else 404). */
  redirectDirectories?: boolean;
  /** HTML listing of directories without a default document (default false: 404). */
  listing?: boolean;
  /** Paths with a segment starting with ".": "ignore" 404 (default), "deny" 403, "allow". */
  dotfiles?: 'ignore' | 'deny' | 'allow';
  /** Dot segments allowed despite `dotfiles` (default [".well-known"]). */
  allowDotfiles?: readonly string[];
  /** "inside" (default): a symlink may only lead to a file inside the root. "any": anywhere. */
  followSymlinks?: 'inside' | 'any';
  /** Extension (without dot) to media type, over mime-db: { md: 'text/markdown' }. */
  mimeTypes?: Readonly<Record<string, string>>;
  /** Media type of files whose extension is unknown (default application/octet-stream). */
  defaultType?: string;
  /** Cache-Control: one value for every file, or rules by path (first match wins). */
  cacheControl?: string | readonly CacheControlRule[];
  /** Extra header fields on every file response (200, 206, 304). */
  headers?: Readonly<Record<string, string>>;
  /** Serve byte ranges (default true). */
  ranges?: boolean;
  /** Most ranges in one request before the Range field is ignored (default 16). */
  maxRanges?: number;
  /** On-the-fly compression; false to disable (default: enabled with the defaults above). */
  compression?: false | CompressionOptions;
  /** Use `file.br` / `file.gz` next to `file` when at least as new (default true). */
  precompressed?: boolean;
  /** The output cache; false to disable (default: enabled with its defaults). */
  cache?: false | OutputCacheOptions;
  /** A page under the root sent with status 404 (e.g. "404.html"); plain text when absent. */
  notFound?: string;
}

/** `next` lets the handler fall through: called instead of answering 404 or 405. */
export type StaticNext = () => void | Promise<void>;

export interface StaticHandler {
  (req: RapidRequest, res: RapidResponse, next?: StaticNext): void | Promise<void>;
  /** The resolved document root (real path). */
  readonly root: string;
  /**
   * Drop cached files now: all of them, or the file/directory at `path` (absolute, or relative
   * to the root). For deployments that replace files where watching is not available.
   */
  invalidate(path?: string): void;
  /** Output cache counters. */
  cacheStats(): { entries: number; bytes: number; hits: number; misses: number };
  /** Stop watching and free the cache. The handler still works afterwards, uncached. */
  close(): void;
}

const CODING_SUFFIX: Record<Coding, string> = { br: '-br', gzip: '-gz', deflate: '-df' };
const SIBLING_EXT: Partial<Record<Coding, string>> = { br: '.br', gzip: '.gz' };
const EMPTY = Buffer.alloc(0);
const TEXT_PLAIN = 'text/plain; charset=utf-8';
const ALLOW = 'GET, HEAD';

const brotli = promisify(zlib.brotliCompress);
const gzip = promisify(zlib.gzip);
const deflate = promisify(zlib.deflate);

/** The fields of a request this handler looks at, gathered in one pass over rawHeaders. */
class Fields implements Conditions {
  acceptEncoding: string | undefined = undefined;
  range: string | undefined = undefined;
  ifRange: string | undefined = undefined;
  ifMatch: string | undefined = undefined;
  ifNoneMatch: string | undefined = undefined;
  ifModifiedSince: string | undefined = undefined;
  ifUnmodifiedSince: string | undefined = undefined;
  /** Any precondition present. */
  conditional = false;
  /** Range sent more than once: invalid, so ignored (RFC 9110 §5.3, not a list). */
  rangeRepeated = false;

  constructor(raw: readonly string[]) {
    for (let i = 0; i < raw.length; i += 2) {
      const v = raw[i + 1]!;
      switch (raw[i]) {
        case 'accept-encoding':
          this.acceptEncoding =
            this.acceptEncoding === undefined ? v : `${this.acceptEncoding}, ${v}`;
          break;
        case 'range':
          if (this.range !== undefined) this.rangeRepeated = true;
          this.range = v;
          break;
        case 'if-range':
          this.ifRange = v;
          break;
        case 'if-match':
          this.ifMatch = this.ifMatch === undefined ? v : `${this.ifMatch}, ${v}`;
          this.conditional = true;
          break;
        case 'if-none-match':
          this.ifNoneMatch = this.ifNoneMatch === undefined ? v : `${this.ifNoneMatch}, ${v}`;
          this.conditional = true;
          break;
        case 'if-modified-since':
          this.ifModifiedSince ??= v;
          this.conditional = true;
          break;
        case 'if-unmodified-since':
          this.ifUnmodifiedSince ??= v;
          this.conditional = true;
          break;
      }
    }
  }
}

/** Errors from fs calls on a request path: what the client is told. */
function fsStatus(err: unknown): ErrorSpec {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR':
    case 'ELOOP':
    case 'ENAMETOOLONG':
    case 'EISDIR':
    case 'EINVAL':
      return E.STATIC_NOT_FOUND;
    case 'EACCES':
    case 'EPERM':
      return E.STATIC_FORBIDDEN;
    default:
      // EMFILE, EIO, ...: a server fault, not the client's; the engine answers 500.
      throw err;
  }
}

function sendError(res: RapidResponse, spec: ErrorSpec): void {
  res.status(spec.status);
  res.setHeader('Content-Type', TEXT_PLAIN);
  res.send(`${spec.message}\n`);
}

function checkOption(ok: boolean, what: string): void {
  if (!ok) throw new RapidError(E.STATIC_INVALID_OPTION, what);
}

function isUint(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}

/** The file a request resolved to, opened. */
interface Opened {
  fh: FileHandle;
  st: Stats;
  /** Real path (symlinks resolved). */
  real: string;
  /** Path relative to the root with a leading "/", for Cache-Control rules and listings. */
  rel: string;
  isIndex: boolean;
}

class StaticFiles {
  readonly root: string;
  private readonly prefix: string;
  private readonly index: readonly string[];
  private readonly redirect: boolean;
  private readonly listing: boolean;
  private readonly dotfiles: 'ignore' | 'deny' | 'allow';
  private readonly allowDot: ReadonlySet<string> | null;
  private readonly inside: boolean;
  private readonly mime: MimeResolver;
  private readonly cacheControl: CacheControlFn;
  private readonly extraHeaders: string;
  private readonly ranges: boolean;
  private readonly maxRanges: number;
  private readonly codings: readonly Coding[];
  private readonly negotiator: Negotiator;
  private readonly minCompress: number;
  private readonly brotliQuality: number;
  private readonly gzipLevel: number;
  private readonly streamBrotliQuality: number;
  private readonly streamGzipLevel: number;
  private readonly precompressed: boolean;
  private cache: OutputCache | null;
  /** Largest file read whole into memory (cached or not). */
  private readonly wholeLimit: number;
  private readonly notFoundPath: string | null;
  /** Loads in flight by real path, so concurrent misses read a file once. */
  private readonly loads = new Map<string, Promise<Entry | null>>();

  constructor(o: StaticOptions) {
    checkOption(typeof o?.root === 'string' && o.root.length > 0, 'root must be a path');
    let root: string;
    try {
      root = realpathSync(o.root);
      if (!statSync(root).isDirectory()) throw new Error('not a directory');
    } catch (err) {
      throw new RapidError(E.STATIC_INVALID_ROOT, o.root, { cause: err });
    }
    this.root = root;
    const prefix = o.prefix ?? '/';
    checkOption(typeof prefix === 'string' && prefix.startsWith('/'), 'prefix must start with "/"');
    this.prefix = prefix.replace(/\/+$/, '');
    const index = o.index === false ? [] : (o.index ?? ['index.html']);
    checkOption(
      Array.isArray(index) &&
        index.every((n) => typeof n === 'string' && n.length > 0 && !/[/\\\0]/.test(n)),
      'index must be a list of file names',
    );
    this.index = index;
    this.redirect = o.redirectDirectories ?? true;
    this.listing = o.listing ?? false;
    this.dotfiles = o.dotfiles ?? 'ignore';
    checkOption(
      ['ignore', 'deny', 'allow'].includes(this.dotfiles),
      'dotfiles must be ignore, deny or allow',
    );
    this.allowDot = this.dotfiles === 'allow' ? null : new Set(o.allowDotfiles ?? ['.well-known']);
    const follow = o.followSymlinks ?? 'inside';
    checkOption(
      follow === 'inside' || follow === 'any',
      'followSymlinks must be "inside" or "any"',
    );
    this.inside = follow === 'inside';
    const compressTypes = o.compression === false ? undefined : o.compression?.types;
    checkOption(
      compressTypes === undefined ||
        (Array.isArray(compressTypes) && compressTypes.every((t) => typeof t === 'string')),
      'compression.types must be a list of media types',
    );
    this.mime = new MimeResolver(
      o.mimeTypes,
      o.defaultType ?? 'application/octet-stream',
      compressTypes,
    );
    this.cacheControl = compileCacheControl(o.cacheControl);
    let extra = '';
    for (const [name, value] of Object.entries(o.headers ?? {})) {
      checkOption(
        /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) && /^[\t\x20-\x7e\x80-\xff]*$/.test(value),
        `headers: invalid field ${JSON.stringify(name)}`,
      );
      extra += `${name}: ${value}\r\n`;
    }
    this.extraHeaders = extra;
    this.ranges = o.ranges ?? true;
    this.maxRanges = o.maxRanges ?? 16;
    checkOption(
      isUint(this.maxRanges) && this.maxRanges >= 1,
      'maxRanges must be a positive integer',
    );
    const c = o.compression === false ? null : (o.compression ?? {});
    this.codings = c === null ? [] : (c.encodings ?? ALL_CODINGS);
    checkOption(
      this.codings.every((x) => ALL_CODINGS.includes(x)),
      'compression.encodings may hold br, gzip and deflate',
    );
    this.negotiator = new Negotiator(this.codings);
    this.minCompress = c?.minSize ?? 1024;
    this.brotliQuality = c?.brotliQuality ?? 9;
    this.gzipLevel = c?.gzipLevel ?? 9;
    this.streamBrotliQuality = c?.streamBrotliQuality ?? 4;
    this.streamGzipLevel = c?.streamGzipLevel ?? 6;
    checkOption(isUint(this.minCompress), 'compression.minSize must be a non-negative integer');
    for (const [k, v, max] of [
      ['brotliQuality', this.brotliQuality, 11],
      ['streamBrotliQuality', this.streamBrotliQuality, 11],
      ['gzipLevel', this.gzipLevel, 9],
      ['streamGzipLevel', this.streamGzipLevel, 9],
    ] as const) {
      checkOption(isUint(v) && v <= max, `compression.${k} must be an integer 0-${max}`);
    }
    this.precompressed = o.precompressed ?? true;
    if (o.cache === false) {
      this.cache = null;
      this.wholeLimit = 256 * 1024;
    } else {
      const co = o.cache ?? {};
      for (const k of ['maxFileSize', 'maxBytes', 'maxEntries', 'revalidateMs'] as const) {
        checkOption(
          co[k] === undefined || isUint(co[k]),
          `cache.${k} must be a non-negative integer`,
        );
      }
      this.cache = new OutputCache(root, co);
      this.wholeLimit = this.cache.maxFileSize;
    }
    if (o.notFound !== undefined) {
      const segs = o.notFound.split('/').filter((s) => s.length > 0);
      const p = resolveInside(root, segs);
      checkOption(p !== undefined && p !== root, 'notFound must name a file under the root');
      this.notFoundPath = p ?? null;
    } else {
      this.notFoundPath = null;
    }
  }

  // ---------------------------------------------------------------------------------------
  // Entry point

  handle(req: RapidRequest, res: RapidResponse, next?: StaticNext): void | Promise<void> {
    let path = req.path;
    if (this.prefix.length !== 0) {
      if (!path.startsWith(this.prefix)) return this.notFound(res, next);
      path = path.slice(this.prefix.length);
      // "" is the mount point without its slash: redirected like any directory.
      if (path.length !== 0 && path.charCodeAt(0) !== 0x2f) return this.notFound(res, next);
    }
    const method = req.method;
    const isGet = method === 'GET';
    if (!isGet && method !== 'HEAD') {
      if (next !== undefined) return next();
      return this.miss(req, res, next, false, false, path);
    }
    const cache = this.cache;
    if (cache !== null) {
      const entry = cache.lookup(req.path);
      if (entry !== undefined) {
        if (clock.now - entry.checkedAt < cache.revalidateMs) {
          return this.serveEntry(entry, req, res, new Fields(req.rawHeaders), isGet);
        }
        return this.revalidateThenServe(entry, req, res, next, isGet, path);
      }
    }
    return this.miss(req, res, next, isGet, true, path);
  }

  private async revalidateThenServe(
    entry: Entry,
    req: RapidRequest,
    res: RapidResponse,
    next: StaticNext | undefined,
    isGet: boolean,
    path: string,
  ): Promise<void> {
    const cache = this.cache as OutputCache;
    entry.revalidating ??= this.revalidate(entry, cache);
    if (await entry.revalidating) {
      return this.serveEntry(entry, req, res, new Fields(req.rawHeaders), isGet);
    }
    return this.miss(req, res, next, isGet, true, path);
  }

  /** One stat of the file (and of a precompressed sibling in use): still the same? */
  private async revalidate(entry: Entry, cache: OutputCache): Promise<boolean> {
    try {
      const ids: FileId[] = [entry.file];
      for (const c of ALL_CODINGS) {
        const v = entry.variants[c];
        if (v !== null && v !== undefined && v.sibling !== null) ids.push(v.sibling);
      }
      for (const id of ids) {
        const st = await stat(id.path);
        if (st.size !== id.size || st.mtimeMs !== id.mtimeMs || st.ino !== id.ino) {
          cache.invalidate(entry);
          return false;
        }
      }
      if (entry.valid) entry.checkedAt = clock.now;
      return entry.valid;
    } catch {
      cache.invalidate(entry);
      return false;
    } finally {
      entry.revalidating = null;
    }
  }

  // ---------------------------------------------------------------------------------------
  // Serving a file held in memory (cached or not)

  private serveEntry(
    entry: Entry,
    req: RapidRequest,
    res: RapidResponse,
    f: Fields,
    isGet: boolean,
  ): void | Promise<void> {
    const size = entry.body.length;
    const wantsRange = isGet && this.ranges && f.range !== undefined && !f.rangeRepeated;
    let variant: Variant | null = null;
    // Ranges are served on the identity representation only, so a Range request is never
    // compressed (a range of a gzip stream is useless to the client anyway).
    if (entry.compress && f.acceptEncoding !== undefined && !wantsRange) {
      const prefs = this.negotiator.choose(f.acceptEncoding);
      for (let i = 0; i < prefs.length; i++) {
        const c = prefs[i]!;
        const v = entry.variants[c];
        if (v === undefined) return this.buildThenServe(entry, c, req, res, f, isGet);
        if (v !== null) {
          variant = v;
          break;
        }
      }
    }
    if (f.conditional) {
      const r = evaluateConditions(
        f,
        variant === null ? entry.etag : variant.etag,
        entry.lastModified,
      );
      if (r === 304) {
        res.sendPrepared(variant === null ? entry.notModified : variant.notModified);
        return;
      }
      if (r === 412) return sendError(res, E.STATIC_PRECONDITION_FAILED);
    }
    if (
      wantsRange &&
      (f.ifRange === undefined ||
        ifRangeAllows(f.ifRange, entry.etag, entry.lastModified, Date.now()))
    ) {
      const ranges = parseRange(f.range as string, size, this.maxRanges);
      if (ranges === RANGE_UNSATISFIABLE) return this.unsatisfiable(res, size);
      if (ranges !== undefined) {
        if (ranges.length === 1) {
          const r = ranges[0]!;
          res.sendPrepared({
            status: 206,
            headerBlock: `Content-Type: ${entry.contentType}\r\n${entry.rangeHead}Content-Range: bytes ${r.start}-${r.end}/${size}\r\n`,
            body: entry.body.subarray(r.start, r.end + 1),
          });
          return;
        }
        const boundary = randomBytes(12).toString('hex');
        const parts: Buffer[] = [];
        for (const r of ranges) {
          parts.push(
            Buffer.from(
              partHead(boundary, entry.contentType, r, size, parts.length === 0),
              'latin1',
            ),
          );
          parts.push(entry.body.subarray(r.start, r.end + 1));
        }
        parts.push(Buffer.from(`\r\n--${boundary}--\r\n`, 'latin1'));
        res.sendPrepared({
          status: 206,
          headerBlock: `Content-Type: multipart/byteranges; boundary=${boundary}\r\n${entry.rangeHead}`,
          body: Buffer.concat(parts),
        });
        return;
      }
    }
    res.sendPrepared(variant === null ? entry.ok : variant.ok);
  }

  private async buildThenServe(
    entry: Entry,
    coding: Coding,
    req: RapidRequest,
    res: RapidResponse,
    f: Fields,
    isGet: boolean,
  ): Promise<void> {
    let p = entry.building[coding];
    if (p === undefined) {
      p = this.buildVariant(entry, coding);
      entry.building[coding] = p;
    }
    const v = await p;
    entry.building[coding] = undefined;
    // Recorded on the entry even if the cache could not keep its bytes: null means "use the next
    // coding", and a variant not charged is still correct for this one response.
    if (entry.variants[coding] === undefined) entry.variants[coding] = v;
    return this.serveEntry(entry, req, res, f, isGet);
  }

  /** A compressed representation: the precompressed sibling if fresh, else zlib's output. */
  private async buildVariant(entry: Entry, coding: Coding): Promise<Variant | null> {
    let body: Buffer | null = null;
    let sibling: FileId | null = null;
    const ext = SIBLING_EXT[coding];
    if (this.precompressed && ext !== undefined) {
      const found = await this.readSibling(entry.file.path + ext, entry.file.mtimeMs);
      if (found !== null) ({ body, sibling } = found);
    }
    if (body === null) {
      const src = entry.body;
      if (coding === 'br') {
        body = await brotli(src, {
          params: {
            [zlib.constants.BROTLI_PARAM_QUALITY]: this.brotliQuality,
            [zlib.constants.BROTLI_PARAM_SIZE_HINT]: src.length,
          },
        });
      } else if (coding === 'gzip') {
        body = await gzip(src, { level: this.gzipLevel });
      } else {
        body = await deflate(src, { level: this.gzipLevel });
      }
    }
    // Not worth it when compression does not shrink the body.
    if (sibling === null && body.length >= entry.body.length) return null;
    if (this.cache !== null && entry.valid) this.cache.charge(entry, body.length);
    const etag =
      sibling === null
        ? makeEtag(entry.body.length, entry.file.mtimeMs, CODING_SUFFIX[coding])
        : makeEtag(sibling.size, sibling.mtimeMs, CODING_SUFFIX[coding]);
    const common = this.commonHead(entry.lastModified, etag, entry.cacheControl, true);
    return {
      coding,
      etag,
      ok: {
        status: 200,
        headerBlock: `Content-Type: ${entry.contentType}\r\n${common}Content-Encoding: ${coding}\r\n`,
        body,
      },
      notModified: { status: 304, headerBlock: common, body: EMPTY },
      sibling,
    };
  }

  /** A precompressed sibling read whole, if openSibling() takes it and it is small enough. */
  private async readSibling(
    path: string,
    mtimeMs: number,
  ): Promise<{ body: Buffer; sibling: FileId } | null> {
    const found = await this.openSibling(path, mtimeMs);
    if (found === null) return null;
    const { fh, st } = found;
    try {
      if (st.size > this.wholeLimit) return null;
      const body = await readWhole(fh, st.size);
      return { body, sibling: { path, size: st.size, mtimeMs: st.mtimeMs, ino: st.ino } };
    } catch {
      return null;
    } finally {
      await fh.close().catch(noop);
    }
  }

  private unsatisfiable(res: RapidResponse, size: number): void {
    res.status(416);
    // §15.5.17: a 416 to a byte-range request should say the current length.
    res.setHeader('Content-Range', `bytes */${size}`);
    res.setHeader('Content-Type', TEXT_PLAIN);
    res.send(`${E.STATIC_RANGE_NOT_SATISFIABLE.message}\n`);
  }

  /** Fields shared by 200, 206 and 304 (RFC 9110 §15.4.5 lists what a 304 must repeat). */
  private commonHead(
    lastModified: number,
    etag: string,
    cacheControl: string | undefined,
    vary: boolean,
  ): string {
    let h = `ETag: ${etag}\r\nLast-Modified: ${new Date(lastModified).toUTCString()}\r\n`;
    if (cacheControl !== undefined) h += `Cache-Control: ${cacheControl}\r\n`;
    if (vary) h += 'Vary: Accept-Encoding\r\n';
    return h + this.extraHeaders;
  }

  // ---------------------------------------------------------------------------------------
  // The slow path: resolve, open, load or stream

  private async miss(
    req: RapidRequest,
    res: RapidResponse,
    next: StaticNext | undefined,
    isGet: boolean,
    methodOk: boolean,
    path: string,
    attempt = 0,
  ): Promise<void> {
    // "" is the mount point itself without its trailing slash.
    const decoded =
      path.length === 0 ? { segments: [], trailingSlash: false } : decodePath(path, this.allowDot);
    if (typeof decoded === 'number') {
      if (decoded === PathError.Bad) return sendError(res, E.STATIC_BAD_PATH);
      if (decoded === PathError.Dotfile && this.dotfiles === 'deny') {
        return sendError(res, E.STATIC_FORBIDDEN);
      }
      return this.notFound(res, next);
    }
    const lexical = resolveInside(this.root, decoded.segments);
    if (lexical === undefined) return sendError(res, E.STATIC_BAD_PATH);
    const rel = '/' + decoded.segments.join('/');

    let found: Opened | ErrorSpec = await this.openPath(lexical, rel);
    if (!('fh' in found))
      return found === E.STATIC_NOT_FOUND ? this.notFound(res, next) : sendError(res, found);
    if (found.st.isDirectory()) {
      await found.fh.close().catch(noop);
      if (!decoded.trailingSlash && path !== '/') {
        if (!methodOk) return this.methodNotAllowed(res);
        if (!this.redirect) return this.notFound(res, next);
        res.status(301);
        // The raw path is echoed as received (it passed the checks above), so the client's own
        // encoding is kept; the query string goes along (issue 4).
        res.setHeader('Location', `${req.path}/${req.search}`);
        res.setHeader('Content-Type', TEXT_PLAIN);
        res.send('Moved Permanently\n');
        return;
      }
      const dirReal = found.real;
      found = E.STATIC_NOT_FOUND;
      for (const name of this.index) {
        const o = await this.openPath(
          join(lexical, name),
          rel === '/' ? `/${name}` : `${rel}/${name}`,
        );
        if ('fh' in o) {
          if (o.st.isFile()) {
            o.isIndex = true;
            found = o;
            break;
          }
          await o.fh.close().catch(noop);
        } else if (o !== E.STATIC_NOT_FOUND) {
          found = o;
          break;
        }
      }
      if (!('fh' in found)) {
        if (found !== E.STATIC_NOT_FOUND) return sendError(res, found);
        if (!methodOk) return this.methodNotAllowed(res);
        if (this.listing) return this.sendListing(res, dirReal, withSlash(rel));
        return this.notFound(res, next);
      }
    } else if (decoded.trailingSlash || !found.st.isFile()) {
      // "/file.txt/" names a directory that does not exist; FIFOs, sockets and devices are never
      // served (a FIFO would block a read forever).
      await found.fh.close().catch(noop);
      return this.notFound(res, next);
    }
    if (!methodOk) {
      await found.fh.close().catch(noop);
      return this.methodNotAllowed(res);
    }
    const f = new Fields(req.rawHeaders);
    if (found.st.size <= this.wholeLimit) {
      const entry = await this.load(found, req.path);
      if (entry !== null) return this.serveEntry(entry, req, res, f, isGet);
      // The file changed while it was read: look again, a few times at most.
      if (attempt >= 3) throw new Error(`file keeps changing while read: ${found.real}`);
      return this.miss(req, res, next, isGet, methodOk, path, attempt + 1);
    }
    return this.serveStream(found, res, f, isGet);
  }

  /**
   * Resolves symlinks, applies the root fence to the real path, opens the file (O_NONBLOCK, so
   * opening a FIFO that appeared since can never block) and fstat()s the handle: what is served
   * is what was checked.
   */
  private async openPath(lexical: string, rel: string): Promise<Opened | ErrorSpec> {
    let real: string;
    try {
      real = await realpath(lexical);
    } catch (err) {
      return fsStatus(err);
    }
    if (this.inside && !isInside(this.root, real)) return E.STATIC_NOT_FOUND;
    let fh: FileHandle;
    try {
      fh = await open(real, fsc.O_RDONLY | fsc.O_NONBLOCK);
    } catch (err) {
      return fsStatus(err);
    }
    try {
      const st = await fh.stat();
      return { fh, st, real, rel, isIndex: false };
    } catch (err) {
      await fh.close().catch(noop);
      return fsStatus(err);
    }
  }

  /**
   * Reads a small file whole and builds its entry; caches it when nothing changed meanwhile.
   * Concurrent misses on one file share a load. Returns null if the file changed while read.
   */
  private async load(o: Opened, key: string): Promise<Entry | null> {
    const cache = this.cache;
    const existing = cache?.byFile(o.real);
    if (
      existing !== undefined &&
      existing.file.mtimeMs === o.st.mtimeMs &&
      existing.file.size === o.st.size &&
      existing.file.ino === o.st.ino
    ) {
      await o.fh.close().catch(noop);
      cache!.alias(existing, key);
      return existing;
    }
    // Only a load of this very version of the file may be shared: a request that opened the
    // file after it was replaced must not be handed the old content.
    const id = `${o.st.ino}:${o.st.size}:${o.st.mtimeMs}:${o.real}`;
    let p = this.loads.get(id);
    if (p !== undefined) {
      await o.fh.close().catch(noop);
      const e = await p;
      if (e !== null && cache !== null) cache.alias(e, key);
      return e;
    }
    p = this.loadFile(o, key);
    this.loads.set(id, p);
    try {
      return await p;
    } finally {
      this.loads.delete(id);
    }
  }

  /**
   * Reads the opened file and caches it if it provably is still what the path names. Changes
   * after beginLoad() bump the directory's epoch (fs.watch); changes between open() and
   * beginLoad() are caught by comparing the handle's fstat before and after the read with a
   * stat of the path after it (a rename gives the path another inode, a write another size or
   * mtime). Either way the content read is still served to this request, which arrived first.
   */
  private async loadFile(o: Opened, key: string): Promise<Entry | null> {
    const cache = this.cache;
    const token = cache?.beginLoad(dirname(o.real));
    const epoch = token?.epoch ?? 0;
    let body: Buffer;
    let after: Stats;
    let now: Stats | null = null;
    try {
      body = await readWhole(o.fh, o.st.size);
      after = await o.fh.stat();
      if (token !== undefined) now = await stat(o.real).catch(() => null);
    } catch (err) {
      if (token !== undefined) cache!.abandon(token);
      throw err;
    } finally {
      await o.fh.close().catch(noop);
    }
    if (!sameFile(after, o.st) || body.length !== o.st.size) {
      if (token !== undefined) cache!.abandon(token);
      return null;
    }
    const entry = this.makeEntry(o, body);
    if (token !== undefined) {
      if (now !== null && sameFile(now, o.st)) cache!.insert(token, epoch, entry, key);
      else cache!.abandon(token);
    }
    return entry;
  }

  private makeEntry(o: Opened, body: Buffer): Entry {
    const st = o.st;
    const media = this.mime.forName(o.rel);
    const compress = this.codings.length !== 0 && media.compressible && st.size >= this.minCompress;
    const etag = makeEtag(st.size, st.mtimeMs);
    const lastModified = Math.floor(st.mtimeMs / 1000) * 1000;
    const cacheControl = this.cacheControl(o.rel);
    const common = this.commonHead(lastModified, etag, cacheControl, compress);
    const rangeHead = this.ranges ? `${common}Accept-Ranges: bytes\r\n` : common;
    const ok: PreparedResponse = {
      status: 200,
      headerBlock: `Content-Type: ${media.contentType}\r\n${rangeHead}`,
      body,
    };
    const notModified: PreparedResponse = { status: 304, headerBlock: common, body: EMPTY };
    return new Entry(
      { path: o.real, size: st.size, mtimeMs: st.mtimeMs, ino: st.ino },
      dirname(o.real),
      basename(o.real),
      o.isIndex,
      body,
      etag,
      lastModified,
      compress,
      ok,
      notModified,
      rangeHead,
      media.contentType,
      cacheControl,
    );
  }

  // ---------------------------------------------------------------------------------------
  // Large files: streamed from the open handle with backpressure, never read whole

  private async serveStream(
    o: Opened,
    res: RapidResponse,
    f: Fields,
    isGet: boolean,
  ): Promise<void> {
    let fh: FileHandle | null = o.fh;
    try {
      const st = o.st;
      const size = st.size;
      const media = this.mime.forName(o.rel);
      const compress = this.codings.length !== 0 && media.compressible && size >= this.minCompress;
      const etag = makeEtag(size, st.mtimeMs);
      const lastModified = Math.floor(st.mtimeMs / 1000) * 1000;
      const cacheControl = this.cacheControl(o.rel);
      const wantsRange = isGet && this.ranges && f.range !== undefined && !f.rangeRepeated;

      // Representation: a fresh precompressed sibling, else compression on the fly, else identity.
      let coding: Coding | null = null;
      let sibling: { fh: FileHandle; st: Stats } | null = null;
      if (compress && f.acceptEncoding !== undefined && !wantsRange) {
        for (const c of this.negotiator.choose(f.acceptEncoding)) {
          const ext = SIBLING_EXT[c];
          if (this.precompressed && ext !== undefined) {
            sibling = await this.openSibling(o.real + ext, st.mtimeMs);
            if (sibling !== null) {
              coding = c;
              break;
            }
          }
          coding = c;
          break;
        }
      }
      const repEtag =
        coding === null
          ? etag
          : sibling !== null
            ? makeEtag(sibling.st.size, sibling.st.mtimeMs, CODING_SUFFIX[coding])
            : makeEtag(size, st.mtimeMs, CODING_SUFFIX[coding]);
      const common = this.commonHead(lastModified, repEtag, cacheControl, compress);
      const release = async (): Promise<void> => {
        if (sibling !== null) await sibling.fh.close().catch(noop);
      };

      if (f.conditional) {
        const r = evaluateConditions(f, repEtag, lastModified);
        if (r !== 0) {
          await release();
          if (r === 412) return sendError(res, E.STATIC_PRECONDITION_FAILED);
          res.sendPrepared({ status: 304, headerBlock: common, body: EMPTY });
          return;
        }
      }

      if (coding !== null) {
        res.status(200);
        setBlock(
          res,
          `Content-Type: ${media.contentType}\r\n${common}Content-Encoding: ${coding}\r\n`,
        );
        if (sibling !== null) {
          const s = sibling;
          sibling = null;
          await fh.close();
          fh = null;
          return await this.sendFileRange(res, s.fh, 0, s.st.size, isGet);
        }
        if (!isGet) {
          // HEAD: the length of a compressed stream is unknown without compressing it.
          res.end();
          return;
        }
        const src = fh.createReadStream({ autoClose: true });
        fh = null;
        const z = this.streamCompressor(coding, size);
        src.on('error', (err) => z.destroy(err));
        return await res.stream(src.pipe(z));
      }

      const rangeHead = this.ranges ? `${common}Accept-Ranges: bytes\r\n` : common;
      if (
        wantsRange &&
        (f.ifRange === undefined || ifRangeAllows(f.ifRange, etag, lastModified, Date.now()))
      ) {
        const ranges = parseRange(f.range as string, size, this.maxRanges);
        if (ranges === RANGE_UNSATISFIABLE) return this.unsatisfiable(res, size);
        if (ranges !== undefined) {
          res.status(206);
          if (ranges.length === 1) {
            const r = ranges[0]!;
            setBlock(
              res,
              `Content-Type: ${media.contentType}\r\n${rangeHead}Content-Range: bytes ${r.start}-${r.end}/${size}\r\n`,
            );
            const h = fh;
            fh = null;
            return await this.sendFileRange(res, h, r.start, r.end - r.start + 1, true);
          }
          const boundary = randomBytes(12).toString('hex');
          setBlock(res, `Content-Type: multipart/byteranges; boundary=${boundary}\r\n${rangeHead}`);
          let length = 0;
          const heads = ranges.map((r, i) => {
            const h = partHead(boundary, media.contentType, r, size, i === 0);
            length += Buffer.byteLength(h, 'latin1') + (r.end - r.start + 1);
            return h;
          });
          const tail = `\r\n--${boundary}--\r\n`;
          length += tail.length;
          res.setHeader('Content-Length', String(length));
          const h = fh;
          fh = null;
          return await res.stream(multipart(h, ranges, heads, tail));
        }
      }
      res.status(200);
      setBlock(res, `Content-Type: ${media.contentType}\r\n${rangeHead}`);
      const h = fh;
      fh = null;
      return await this.sendFileRange(res, h, 0, size, isGet);
    } finally {
      if (fh !== null) await fh.close().catch(noop);
    }
  }

  /** Sends `length` bytes of a file from `start` with a Content-Length; closes the handle. */
  private async sendFileRange(
    res: RapidResponse,
    fh: FileHandle,
    start: number,
    length: number,
    withBody: boolean,
  ): Promise<void> {
    res.setHeader('Content-Length', String(length));
    if (!withBody || length === 0) {
      await fh.close().catch(noop);
      // A zero-length write fixes the head with our Content-Length (HEAD: the engine sends no
      // body but keeps the length of the GET response, RFC 9110 §9.3.2).
      res.write(EMPTY);
      res.end();
      return;
    }
    const stream = fh.createReadStream({
      start,
      end: start + length - 1,
      autoClose: true,
      highWaterMark: 64 * 1024,
    });
    try {
      await res.stream(exactly(stream, length));
    } finally {
      if (!stream.destroyed) stream.destroy();
    }
  }

  /**
   * A precompressed sibling, open, if it is a regular file no older than the original (and, with
   * followSymlinks "inside", really inside the root).
   */
  private async openSibling(
    path: string,
    mtimeMs: number,
  ): Promise<{ fh: FileHandle; st: Stats } | null> {
    let fh: FileHandle;
    try {
      fh = await open(path, fsc.O_RDONLY | fsc.O_NONBLOCK);
    } catch {
      return null;
    }
    try {
      const st = await fh.stat();
      if (
        st.isFile() &&
        st.mtimeMs >= mtimeMs &&
        (!this.inside || isInside(this.root, await realpath(path)))
      ) {
        return { fh, st };
      }
    } catch {
      // fall through
    }
    await fh.close().catch(noop);
    return null;
  }

  private streamCompressor(
    coding: Coding,
    size: number,
  ): zlib.BrotliCompress | zlib.Gzip | zlib.Deflate {
    if (coding === 'br') {
      return zlib.createBrotliCompress({
        params: {
          [zlib.constants.BROTLI_PARAM_QUALITY]: this.streamBrotliQuality,
          [zlib.constants.BROTLI_PARAM_SIZE_HINT]: size,
        },
      });
    }
    if (coding === 'gzip') return zlib.createGzip({ level: this.streamGzipLevel });
    return zlib.createDeflate({ level: this.streamGzipLevel });
  }

  // ---------------------------------------------------------------------------------------
  // Other answers

  private methodNotAllowed(res: RapidResponse): void {
    res.setHeader('Allow', ALLOW);
    sendError(res, E.STATIC_METHOD_NOT_ALLOWED);
  }

  private async notFound(res: RapidResponse, next: StaticNext | undefined): Promise<void> {
    if (next !== undefined) return next();
    const page = this.notFoundPath;
    if (page !== null) {
      const entry = await this.notFoundEntry(page);
      if (entry !== null) {
        res.sendPrepared({
          status: 404,
          headerBlock: `Content-Type: ${entry.contentType}\r\n`,
          body: entry.body,
        });
        return;
      }
    }
    sendError(res, E.STATIC_NOT_FOUND);
  }

  /** The configured 404 page, through the same checks and cache as any file. */
  private async notFoundEntry(page: string): Promise<Entry | null> {
    const key = '\0not-found';
    const cache = this.cache;
    const hit = cache?.lookup(key);
    if (hit !== undefined && clock.now - hit.checkedAt < (cache as OutputCache).revalidateMs)
      return hit;
    const o = await this.openPath(page, '/' + page.slice(this.root.length + 1));
    if (!('fh' in o)) return null;
    if (!o.st.isFile() || o.st.size > this.wholeLimit) {
      await o.fh.close().catch(noop);
      return null;
    }
    return this.load(o, key);
  }

  private async sendListing(res: RapidResponse, dir: string, display: string): Promise<void> {
    const entries: ListingEntry[] = [];
    let dirents;
    try {
      dirents = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      return sendError(res, fsStatus(err));
    }
    for (const d of dirents.slice(0, 10_000)) {
      if (d.name.startsWith('.') && this.allowDot !== null && !this.allowDot.has(d.name)) continue;
      let isDirectory = d.isDirectory();
      let size = -1;
      let mtimeMs = NaN;
      try {
        const st = await stat(join(dir, d.name));
        if (
          this.inside &&
          d.isSymbolicLink() &&
          !isInside(this.root, await realpath(join(dir, d.name)))
        )
          continue;
        isDirectory = st.isDirectory();
        size = isDirectory ? -1 : st.size;
        mtimeMs = st.mtimeMs;
      } catch {
        if (d.isSymbolicLink()) continue; // dangling link
      }
      entries.push({ name: d.name, isDirectory, size, mtimeMs });
    }
    res.status(200);
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache');
    res.send(renderListing(display, entries));
  }

  invalidate(path?: string): void {
    if (this.cache === null) return;
    if (path === undefined) return this.cache.invalidateAll();
    const abs = path.startsWith('/') ? path : join(this.root, path);
    let real = abs;
    try {
      real = realpathSync(abs);
    } catch {
      // gone already: drop by the name given
    }
    this.cache.invalidateAll(real);
    if (real !== abs) this.cache.invalidateAll(abs);
  }

  cacheStats(): { entries: number; bytes: number; hits: number; misses: number } {
    const c = this.cache;
    return c === null
      ? { entries: 0, bytes: 0, hits: 0, misses: 0 }
      : { entries: c.size, bytes: c.bytes, hits: c.hits, misses: c.misses };
  }

  close(): void {
    this.cache?.close();
    this.cache = null;
  }
}

function sameFile(a: Stats, b: Stats): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.dev === b.dev;
}

/** Sets a prebuilt block of "Name: value\r\n" lines as response headers. */
function setBlock(res: RapidResponse, block: string): void {
  let i = 0;
  while (i < block.length) {
    const eol = block.indexOf('\r\n', i);
    const line = block.slice(i, eol);
    const colon = line.indexOf(':');
    res.appendHeader(line.slice(0, colon), line.slice(colon + 2));
    i = eol + 2;
  }
}

/** The delimiter and headers of one part of a multipart/byteranges body (RFC 9110 §14.6). */
function partHead(
  boundary: string,
  type: string,
  r: ByteRange,
  size: number,
  first: boolean,
): string {
  return `${first ? '' : '\r\n'}--${boundary}\r\nContent-Type: ${type}\r\nContent-Range: bytes ${r.start}-${r.end}/${size}\r\n\r\n`;
}

async function* multipart(
  fh: FileHandle,
  ranges: readonly ByteRange[],
  heads: readonly string[],
  tail: string,
): AsyncGenerator<Buffer> {
  // Positional reads on the one handle: a ReadStream would take the handle over and close it
  // after the first part. Each chunk is a fresh buffer, as the socket may still hold the last.
  try {
    for (let i = 0; i < ranges.length; i++) {
      const r = ranges[i]!;
      yield Buffer.from(heads[i]!, 'latin1');
      let pos = r.start;
      while (pos <= r.end) {
        const n = Math.min(64 * 1024, r.end - pos + 1);
        const buf = Buffer.allocUnsafe(n);
        const { bytesRead } = await fh.read(buf, 0, n, pos);
        if (bytesRead === 0) throw new Error('file shrank while a range was sent');
        pos += bytesRead;
        yield bytesRead === n ? buf : buf.subarray(0, bytesRead);
      }
    }
    yield Buffer.from(tail, 'latin1');
  } finally {
    await fh.close().catch(noop);
  }
}

/**
 * Passes a file stream through, failing if it ends short of the announced Content-Length (the
 * file was truncated while sent): the engine then closes the connection rather than leave the
 * client waiting for bytes that will never come.
 */
async function* exactly(stream: AsyncIterable<Buffer>, length: number): AsyncGenerator<Buffer> {
  let n = 0;
  for await (const chunk of stream) {
    n += chunk.length;
    yield chunk;
  }
  if (n !== length) throw new Error(`file changed while sent: ${n} of ${length} bytes`);
}

async function readWhole(fh: FileHandle, size: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(size);
  let off = 0;
  while (off < size) {
    const { bytesRead } = await fh.read(buf, off, size - off, off);
    if (bytesRead === 0) break;
    off += bytesRead;
  }
  return off === size ? buf : buf.subarray(0, off);
}

/** A directory path for a listing title (decoded, validated UTF-8). */
function withSlash(rel: string): string {
  return rel.endsWith('/') ? rel : `${rel}/`;
}

function noop(): void {}

/** Creates the static file handler. Throws RAPID_ERR_STATIC_INVALID_ROOT / _INVALID_OPTION. */
export function createStaticHandler(options: StaticOptions): StaticHandler {
  const files = new StaticFiles(options);
  const handler = ((req: RapidRequest, res: RapidResponse, next?: StaticNext) =>
    files.handle(req, res, next)) as StaticHandler;
  Object.defineProperty(handler, 'root', { value: files.root, enumerable: true });
  handler.invalidate = (path?: string) => files.invalidate(path);
  handler.cacheStats = () => files.cacheStats();
  handler.close = () => files.close();
  return handler;
}

export type { MediaType };
