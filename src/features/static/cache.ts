/**
 * The output cache: small files held in memory with their response heads prebuilt, so a hit is
 * one Map lookup and one sendPrepared() (h2o's filecache keeps the fd, stat, Last-Modified and
 * ETag the same way; Rapid keeps the bytes too).
 *
 * Bounded by total bytes (bodies plus compressed variants) and by entry count, evicting the least
 * recently used entry. Entries are keyed by the raw request path that produced them (at most
 * MAX_ALIASES spellings per file, so `/%61.txt` and `/a.txt` cannot grow the key map without
 * bound) and indexed by directory for the watcher.
 *
 * Freshness (docs/static.md, "The cache guarantee"):
 * - each directory holding a cached file is watched with fs.watch; an event for a name drops that
 *   entry synchronously, inside the event callback, before any later request is read;
 * - independently, an entry is re-checked with one stat (size, mtime, inode) when it is served
 *   more than `revalidateMs` after its last check, which covers what watching misses (network
 *   file systems, renamed parent directories, platforms or limits without fs.watch);
 * - a load that overlaps any event in its directory is served but not cached, so a write that
 *   lands while the file is being read can never leave a torn copy behind.
 */
import { watch, type FSWatcher } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import type { PreparedResponse } from '../../core/types.js';
import { addSweeper, clock } from '../../util/clock.js';
import type { Coding } from './encoding.js';

export interface OutputCacheOptions {
  /** Largest file kept in memory, in bytes (default 256 KiB). Larger files are streamed. */
  maxFileSize?: number;
  /** Total bytes of bodies and compressed variants (default 64 MiB). */
  maxBytes?: number;
  /** Most files held (default 4096). */
  maxEntries?: number;
  /** An entry served more than this many ms after its last check is stat()ed first (default 1000). */
  revalidateMs?: number;
  /** Watch directories of cached files with fs.watch (default true). */
  watch?: boolean;
}

/** A compressed representation of a cached file. */
export interface Variant {
  readonly coding: Coding;
  readonly etag: string;
  readonly ok: PreparedResponse;
  readonly notModified: PreparedResponse;
  /** Set when the bytes came from a precompressed sibling file: re-checked with the entry. */
  readonly sibling: FileId | null;
}

/** What identifies one version of a file on disk. */
export interface FileId {
  readonly path: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number;
}

/** A cached file. Fields are all assigned in the constructor (one hidden class). */
export class Entry {
  /** Raw request paths that map to this entry. */
  readonly keys: string[] = [];
  valid = true;
  /** clock.now when the file was last known to match (size, mtime, inode). */
  checkedAt: number;
  /** In-flight revalidation shared by concurrent hits. */
  revalidating: Promise<boolean> | null = null;
  /** Bytes charged to the cache (body plus built variants). */
  bytes: number;
  /** Compressed variants by coding: undefined = not built yet, null = not smaller than identity. */
  readonly variants: Record<Coding, Variant | null | undefined> = {
    br: undefined,
    gzip: undefined,
    deflate: undefined,
  };
  readonly building: Record<Coding, Promise<Variant | null> | undefined> = {
    br: undefined,
    gzip: undefined,
    deflate: undefined,
  };

  constructor(
    readonly file: FileId,
    /** Directory and base name, for the watcher. */
    readonly dir: string,
    readonly name: string,
    /** Served for a directory request (its key ends in "/"): any event in dir drops it. */
    readonly isIndex: boolean,
    readonly body: Buffer,
    readonly etag: string,
    /** Last-Modified in ms, whole seconds. */
    readonly lastModified: number,
    /** Compression applies (type and size qualify): responses carry Vary: Accept-Encoding. */
    readonly compress: boolean,
    /** Full 200 response for identity. */
    readonly ok: PreparedResponse,
    readonly notModified: PreparedResponse,
    /** Header lines shared by 206 responses (without Content-Range). */
    readonly rangeHead: string,
    /** Content-Type field value (for multipart parts). */
    readonly contentType: string,
    /** Cache-Control value from the rules, if any. */
    readonly cacheControl: string | undefined,
  ) {
    this.checkedAt = clock.now;
    this.bytes = body.length;
  }
}

export interface DirWatch {
  readonly path: string;
  watcher: FSWatcher | null;
  /** Bumped on every event in the directory or naming one of its ancestors. */
  epoch: number;
  readonly entries: Map<string, Entry>;
  /** Loads in progress that will add to `entries`. */
  loading: number;
  /** Watched subdirectories; the parent stays watched while it has any. */
  children: number;
  /** The watched parent directory (null for the root). */
  readonly parent: DirWatch | null;
}

const MAX_ALIASES = 4;

export class OutputCache {
  readonly maxFileSize: number;
  readonly maxBytes: number;
  readonly maxEntries: number;
  readonly revalidateMs: number;
  private readonly watchEnabled: boolean;
  private readonly byKey = new Map<string, Entry>();
  /** Insertion order is recency order: the first entry is the least recently used. */
  private readonly lru = new Map<string, Entry>();
  private newest: Entry | null = null;
  private readonly dirs = new Map<string, DirWatch>();
  private removeSweeper: (() => void) | null;
  bytes = 0;
  hits = 0;
  misses = 0;

  /** `root`: the document root; directories from a cached file up to it are watched. */
  constructor(
    private readonly root: string,
    options: OutputCacheOptions,
  ) {
    this.maxFileSize = options.maxFileSize ?? 256 * 1024;
    this.maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
    this.maxEntries = options.maxEntries ?? 4096;
    this.revalidateMs = options.revalidateMs ?? 1000;
    this.watchEnabled = options.watch ?? true;
    // The coarse clock only advances while some sweeper is registered; keep one for our ages.
    this.removeSweeper = addSweeper(noop);
  }

  get size(): number {
    return this.lru.size;
  }

  /** A valid entry for this raw path, marked most recently used; undefined on a miss. */
  lookup(key: string): Entry | undefined {
    const e = this.byKey.get(key);
    if (e === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    if (e !== this.newest) {
      this.lru.delete(e.file.path);
      this.lru.set(e.file.path, e);
      this.newest = e;
    }
    return e;
  }

  /** The valid entry for a file, if cached (to add an alias instead of loading it again). */
  byFile(path: string): Entry | undefined {
    return this.lru.get(path);
  }

  /** Add another raw path for an entry (bounded per entry). */
  alias(e: Entry, key: string): void {
    if (!e.valid || e.keys.length >= MAX_ALIASES || this.byKey.has(key)) return;
    e.keys.push(key);
    this.byKey.set(key, e);
  }

  /**
   * Start a load in `dir`: makes sure the directory is watched before the file is opened, so no
   * change between open and insert can be missed. Returns a token for insert()/abandon().
   */
  beginLoad(dir: string): DirWatch {
    const d = this.ensureDir(dir);
    d.loading++;
    return d;
  }

  /**
   * The watch record of a directory, created with its ancestors up to the root: renaming or
   * replacing any directory on the way (an atomic deploy of `assets/`) must drop what is below.
   */
  private ensureDir(dir: string): DirWatch {
    let d = this.dirs.get(dir);
    if (d !== undefined) return d;
    const up = dirname(dir);
    const parent =
      dir !== this.root && up !== dir && isBelow(this.root, dir) ? this.ensureDir(up) : null;
    d = { path: dir, watcher: null, epoch: 0, entries: new Map(), loading: 0, children: 0, parent };
    if (parent !== null) parent.children++;
    this.dirs.set(dir, d);
    if (this.watchEnabled) d.watcher = this.startWatch(d);
    return d;
  }

  /** Finish a load; the entry is cached only if nothing happened in its directory meanwhile. */
  insert(token: DirWatch, epoch: number, e: Entry, key: string): boolean {
    if (token.epoch !== epoch || this.dirs.get(e.dir) !== token || e.bytes > this.maxBytes) {
      this.abandon(token);
      return false;
    }
    // Replace whatever the file or the key pointed at; `loading` still holds the directory.
    const old = this.lru.get(e.file.path);
    if (old !== undefined) this.invalidate(old);
    const prev = this.byKey.get(key);
    if (prev !== undefined) this.invalidate(prev);
    token.loading--;
    e.keys.push(key);
    this.byKey.set(key, e);
    this.lru.set(e.file.path, e);
    this.newest = e;
    token.entries.set(e.name, e);
    this.bytes += e.bytes;
    this.evict(e);
    return e.valid;
  }

  /** A load that will not insert (error, too big, not a file). */
  abandon(token: DirWatch): void {
    token.loading--;
    this.release(token);
  }

  /** Charge a newly built variant to its entry; false (and not kept) if it cannot fit. */
  charge(e: Entry, bytes: number): boolean {
    if (!e.valid) return false;
    if (e.bytes + bytes > this.maxBytes) return false;
    e.bytes += bytes;
    this.bytes += bytes;
    this.evict(e);
    return e.valid;
  }

  /** Drop one entry now. */
  invalidate(e: Entry): void {
    if (!e.valid) return;
    e.valid = false;
    for (const k of e.keys) if (this.byKey.get(k) === e) this.byKey.delete(k);
    if (this.lru.get(e.file.path) === e) this.lru.delete(e.file.path);
    if (this.newest === e) this.newest = null;
    this.bytes -= e.bytes;
    const d = this.dirs.get(e.dir);
    if (d !== undefined) {
      if (d.entries.get(e.name) === e) d.entries.delete(e.name);
      this.release(d);
    }
  }

  /** Drop every entry (or those whose file path is `path` or below it). */
  invalidateAll(path?: string): void {
    for (const e of [...this.lru.values()]) {
      if (path === undefined || e.file.path === path || e.file.path.startsWith(path + sep)) {
        this.invalidate(e);
      }
    }
  }

  close(): void {
    this.invalidateAll();
    for (const d of this.dirs.values()) d.watcher?.close();
    this.dirs.clear();
    if (this.removeSweeper !== null) {
      this.removeSweeper();
      this.removeSweeper = null;
    }
  }

  private evict(keep?: Entry): void {
    while (this.bytes > this.maxBytes || this.lru.size > this.maxEntries) {
      let victim: Entry | undefined;
      for (const e of this.lru.values()) {
        if (e !== keep) {
          victim = e;
          break;
        }
      }
      if (victim === undefined) break;
      this.invalidate(victim);
    }
  }

  /** Stop watching a directory nobody needs any more, and then its unneeded ancestors. */
  private release(d: DirWatch): void {
    let cur: DirWatch | null = d;
    while (
      cur !== null &&
      cur.entries.size === 0 &&
      cur.loading === 0 &&
      cur.children === 0 &&
      this.dirs.get(cur.path) === cur
    ) {
      cur.watcher?.close();
      this.dirs.delete(cur.path);
      cur = cur.parent;
      if (cur !== null) cur.children--;
    }
  }

  /** Forget a directory whose watch failed (it was removed): everything below is re-checked. */
  private dropDir(d: DirWatch): void {
    this.bumpBelow(d.path);
    this.invalidateAll(d.path);
    d.watcher?.close();
    d.watcher = null;
  }

  private bumpBelow(path: string): void {
    for (const [p, w] of this.dirs) if (p === path || p.startsWith(path + sep)) w.epoch++;
  }

  private startWatch(d: DirWatch): FSWatcher | null {
    let w: FSWatcher;
    try {
      // persistent: false, so a watcher never keeps the process alive on its own.
      w = watch(d.path, { persistent: false }, (_event, name) => this.onEvent(d, name));
    } catch {
      // No watching here (unsupported platform, inotify watch limit): the stat check remains.
      return null;
    }
    w.on('error', () => this.dropDir(d));
    return w;
  }

  /**
   * Runs inside the fs.watch callback, so the entry is gone before any request that follows the
   * change is read (inotify queues the event when the change happens).
   */
  private onEvent(d: DirWatch, name: string | Buffer | null): void {
    d.epoch++;
    if (this.dirs.get(d.path) !== d) return;
    if (name === null || name === undefined) {
      // The platform did not say what changed: everything below this directory goes.
      this.bumpBelow(d.path);
      this.invalidateAll(d.path);
      return;
    }
    const n = typeof name === 'string' ? name : name.toString();
    const hit = d.entries.get(n);
    if (hit !== undefined) this.invalidate(hit);
    // A precompressed sibling changed: the file it belongs to must rebuild its variants.
    if (n.endsWith('.br') || n.endsWith('.gz')) {
      const base = d.entries.get(n.slice(0, -3));
      if (base !== undefined) this.invalidate(base);
    }
    // A directory's default document may now be a different file (index.html appeared).
    for (const e of d.entries.values()) if (e.isIndex && e.name !== n) this.invalidate(e);
    // A watched subdirectory was renamed, removed or replaced: drop everything below it.
    const child = join(d.path, n);
    if (d.children !== 0 && this.dirs.has(child)) {
      this.bumpBelow(child);
      this.invalidateAll(child);
    }
  }
}

/** True when `path` is strictly below `root`. */
function isBelow(root: string, path: string): boolean {
  return path.startsWith(root.endsWith(sep) ? root : root + sep);
}

function noop(): void {}
