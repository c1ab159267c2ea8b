/**
 * htpasswd files: parsing, password verification, reloading on change, and a short-lived cache of
 * verified credentials.
 *
 * Entries (as written by Apache's `htpasswd`): bcrypt `$2y$`/`$2a$`/`$2b$` (-B), Apache MD5
 * `$apr1$` and MD5-crypt `$1$` (-m, the default), SHA-1 `{SHA}` (-s). crypt(3) DES (-d), SHA-256/
 * 512-crypt (-2/-5) and plain text (-p) are refused with the line number, so a user is never left
 * silently unable to log in.
 *
 * Verification is constant-time where Rapid compares (crypto.timingSafeEqual on equal-length
 * digests); bcryptjs compares in constant time itself and runs on a worker thread, because a
 * bcrypt check takes tens of milliseconds by design and would otherwise stall every connection.
 * An unknown user is checked against a real entry of the file (result discarded), so timing does
 * not tell which user names exist.
 */
import crypto, { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync, type Stats } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { E, RapidError } from '../../core/errors.js';

// apache-md5 is CommonJS (module.exports = fn) with typings that declare a default export.
const aprMd5 = createRequire(import.meta.url)('apache-md5') as (
  password: string,
  salt: string,
) => string;

export type HashKind = 'bcrypt' | 'apr1' | 'sha1';

export interface UserEntry {
  readonly user: string;
  readonly hash: string;
  readonly kind: HashKind;
  /** {SHA}: the decoded digest. */
  readonly digest: Buffer | null;
}

export interface ParsedFile {
  readonly users: Map<string, UserEntry>;
  /** "line N: why" for every refused line. */
  readonly errors: string[];
}

const BCRYPT = /^\$2[aby]\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}$/;
const APR1 = /^\$(apr1|1)\$[^$:]{0,8}\$[./A-Za-z0-9]{22}$/;
const SHA1 = /^\{SHA\}[A-Za-z0-9+/]{27}=$/;

function classify(hash: string): HashKind | string {
  if (BCRYPT.test(hash)) return 'bcrypt';
  if (APR1.test(hash)) return 'apr1';
  if (SHA1.test(hash)) return 'sha1';
  if (/^\$[56]\$/.test(hash)) return 'SHA-256/512-crypt entries are not supported';
  if (/^[./0-9A-Za-z]{13}$/.test(hash)) return 'crypt(3) DES entries are not supported';
  if (/^\$2/.test(hash)) return 'malformed bcrypt hash';
  if (/^\$apr1\$|^\$1\$/.test(hash)) return 'malformed $apr1$ hash';
  if (/^\{SHA\}/.test(hash)) return 'malformed {SHA} hash';
  return 'unknown hash format (plain-text passwords are not supported)';
}

/** Parse htpasswd text. Blank lines and lines starting with "#" are skipped; the first entry of a
 * user counts (as in Apache). */
export function parseHtpasswd(text: string): ParsedFile {
  const users = new Map<string, UserEntry>();
  const errors: string[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).replace(/\r$/, '');
    if (line.trim() === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon <= 0) {
      errors.push(`line ${i + 1}: expected user:hash`);
      continue;
    }
    const user = line.slice(0, colon);
    const end = line.indexOf(':', colon + 1);
    const hash = (end === -1 ? line.slice(colon + 1) : line.slice(colon + 1, end)).trim();
    const kind = classify(hash);
    if (kind !== 'bcrypt' && kind !== 'apr1' && kind !== 'sha1') {
      errors.push(`line ${i + 1} (user ${JSON.stringify(user)}): ${kind}`);
      continue;
    }
    if (users.has(user)) continue;
    const digest = kind === 'sha1' ? Buffer.from(hash.slice(5), 'base64') : null;
    users.set(user, { user, hash, kind, digest });
  }
  return { users, errors };
}

// --- the bcrypt thread ------------------------------------------------------------------------

/** Verifications waiting for the bcrypt thread before new ones are refused (503). */
const MAX_PENDING = 1024;

class BcryptThread {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, (ok: boolean | Error) => void>();
  users = 0;

  private start(): Worker {
    const worker = new Worker(new URL('./bcrypt-worker.js', import.meta.url));
    worker.unref();
    worker.on('message', (m: { id: number; ok: boolean }) => {
      const done = this.pending.get(m.id);
      this.pending.delete(m.id);
      done?.(m.ok);
      if (this.pending.size === 0) worker.unref();
    });
    const fail = (err: Error): void => {
      if (this.worker === worker) this.worker = null;
      const waiting = [...this.pending.values()];
      this.pending.clear();
      for (const w of waiting) w(err);
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`bcrypt thread exited with code ${code}`)));
    return worker;
  }

  verify(password: string, hash: string): Promise<boolean> {
    if (this.pending.size >= MAX_PENDING) {
      return Promise.reject(new RapidError(E.ACCESS_AUTH_BUSY));
    }
    const worker = (this.worker ??= this.start());
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, (r) => (r instanceof Error ? reject(r) : resolve(r)));
      // While a check is in flight the thread keeps the process alive, so its answer arrives.
      worker.ref();
      worker.postMessage({ id, password, hash });
    });
  }

  /** One user fewer; the last one stops the thread. */
  release(): void {
    if (--this.users > 0 || this.worker === null) return;
    const worker = this.worker;
    this.worker = null;
    void worker.terminate();
  }
}

const bcryptThread = new BcryptThread();

// --- verification -----------------------------------------------------------------------------

const utf8 = new TextDecoder('utf-8', { fatal: true });

function equalBytes(a: Buffer, b: Buffer): boolean {
  // timingSafeEqual needs equal lengths; comparing `a` with itself keeps the time the same.
  if (a.length !== b.length) {
    timingSafeEqual(a, a);
    return false;
  }
  return timingSafeEqual(a, b);
}

/** Verify a password (raw bytes, as sent) against an entry. */
export function verifyPassword(entry: UserEntry, password: Buffer): boolean | Promise<boolean> {
  switch (entry.kind) {
    case 'sha1':
      return equalBytes(createHash('sha1').update(password).digest(), entry.digest as Buffer);
    case 'apr1': {
      // apache-md5 hashes each char's low byte: hand it the bytes as a latin1 string, so non-ASCII
      // passwords hash as the UTF-8 bytes htpasswd saw.
      const computed = aprMd5(password.toString('latin1'), entry.hash);
      return equalBytes(Buffer.from(computed, 'latin1'), Buffer.from(entry.hash, 'latin1'));
    }
    case 'bcrypt': {
      let text: string;
      try {
        text = utf8.decode(password);
      } catch {
        // bcryptjs hashes the UTF-8 encoding of a string: invalid UTF-8 cannot be what was set.
        return false;
      }
      return bcryptThread.verify(text, entry.hash);
    }
  }
}

// --- the file, its reloads and the credential cache -------------------------------------------

export interface PasswordFileOptions {
  /** How often (ms) a request may trigger a check of the file for changes (default 1000; 0:
   * every request). */
  reloadInterval?: number;
  /** How long (ms) a verified user/password pair is remembered (default 60000; 0: never). */
  cacheTtl?: number;
  /** Told when a changed file cannot be read or has bad lines (the last good users stay). */
  onError?: (err: RapidError) => void;
}

interface Cached {
  readonly hash: string;
  readonly ok: boolean;
  readonly expires: number;
}

const CACHE_MAX = 10_000;
/** A file modified this recently may change again within its timestamp's granularity. */
const RACY_MS = 2000;

function signature(st: Stats): string {
  return `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}

/**
 * One htpasswd file. An access control opens each path once, so every rule naming it shares its
 * users, cache and reload checks.
 */
export class PasswordFile {
  readonly path: string;
  private users: Map<string, UserEntry>;
  private decoy: UserEntry | null;
  private text: string;
  private sig: string;
  private mtime: number;
  private nextCheck = 0;
  private checking: Promise<void> | null = null;
  private readonly reloadInterval: number;
  private readonly ttl: number;
  private readonly onError: (err: RapidError) => void;
  private readonly cache = new Map<string, Cached>();
  /** Cache keys are keyed hashes under a per-file random secret: no passwords kept, no keys an
   * outsider could compute. */
  private readonly cacheKey = randomBytes(32).toString('base64');
  private closed = false;

  /** Reads and parses the file now; throws a RapidError naming the file and line. */
  constructor(path: string, options: PasswordFileOptions = {}) {
    this.path = path;
    this.reloadInterval = options.reloadInterval ?? 1000;
    this.ttl = options.cacheTtl ?? 60_000;
    this.onError = options.onError ?? ((err) => console.error(`rapid: ${err.message}`));
    let text: string;
    let st: Stats;
    try {
      text = readFileSync(path, 'utf8');
      st = statSync(path);
    } catch (err) {
      throw new RapidError(E.ACCESS_HTPASSWD_UNREADABLE, `${path}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const parsed = parseHtpasswd(text);
    if (parsed.errors.length > 0) {
      throw new RapidError(E.ACCESS_HTPASSWD_INVALID, `${path}: ${parsed.errors.join('; ')}`);
    }
    this.users = parsed.users;
    this.decoy = firstEntry(parsed.users);
    this.text = text;
    this.sig = signature(st);
    this.mtime = st.mtimeMs;
    bcryptThread.users++;
  }

  /** The number of users (for tests and status pages). */
  get size(): number {
    return this.users.size;
  }

  /**
   * Check the file for changes when a check is due; resolves when done. Returns null (nothing to
   * wait for) when no check is due, so the common case stays synchronous.
   */
  refresh(): Promise<void> | null {
    if (this.checking !== null) return this.checking;
    const now = Date.now();
    if (now < this.nextCheck || this.closed) return null;
    this.nextCheck = now + this.reloadInterval;
    this.checking = this.check(now).finally(() => {
      this.checking = null;
    });
    return this.checking;
  }

  private async check(now: number): Promise<void> {
    let st: Stats;
    try {
      st = await stat(this.path);
    } catch (err) {
      this.report(E.ACCESS_HTPASSWD_UNREADABLE, (err as Error).message, err);
      return;
    }
    // Same signature and not recently modified: unchanged. A file modified within the last two
    // seconds is re-read anyway, because a second write in the same timestamp tick keeps it.
    if (signature(st) === this.sig && now - this.mtime > RACY_MS) return;
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      this.report(E.ACCESS_HTPASSWD_UNREADABLE, (err as Error).message, err);
      return;
    }
    this.sig = signature(st);
    this.mtime = st.mtimeMs;
    if (text === this.text) return;
    const parsed = parseHtpasswd(text);
    if (parsed.errors.length > 0) {
      this.report(
        E.ACCESS_HTPASSWD_INVALID,
        `${parsed.errors.join('; ')} (keeping the last good users)`,
      );
      return;
    }
    this.text = text;
    this.users = parsed.users;
    this.decoy = firstEntry(parsed.users);
  }

  private report(spec: typeof E.ACCESS_HTPASSWD_INVALID, why: string, cause?: unknown): void {
    this.onError(new RapidError(spec, `${this.path}: ${why}`, { cause }));
  }

  /** Whether the user is in the file (allowed by `users` when given) and the password right. */
  verify(
    user: string,
    password: Buffer,
    allowed: ReadonlySet<string> | null,
  ): boolean | Promise<boolean> {
    const entry = this.users.get(user);
    const permitted = entry !== undefined && (allowed === null || allowed.has(user));
    const hash = permitted ? entry.hash : '';
    let key = '';
    if (this.ttl > 0) {
      key = cacheKeyOf(this.cacheKey, user, password);
      const hit = this.cache.get(key);
      if (hit !== undefined && hit.hash === hash && hit.expires > Date.now()) return hit.ok;
    }
    // Unknown or not permitted: spend the time of a real check (of this user when it exists),
    // then fail.
    const target = entry ?? this.decoy;
    const r = target === null ? false : verifyPassword(target, password);
    const finish = (ok: boolean): boolean => {
      const result = permitted && ok;
      if (this.ttl > 0) this.remember(key, hash, result);
      return result;
    };
    return typeof r === 'boolean' ? finish(r) : r.then(finish);
  }

  private remember(key: string, hash: string, ok: boolean): void {
    if (this.cache.size >= CACHE_MAX) {
      // Drop the oldest entry (Map keeps insertion order).
      const oldest = this.cache.keys().next();
      if (oldest.done !== true) this.cache.delete(oldest.value);
    }
    this.cache.delete(key);
    this.cache.set(key, { hash, ok, expires: Date.now() + this.ttl });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.cache.clear();
    bcryptThread.release();
  }
}

// crypto.hash (Node >= 20.12) is a one-shot digest, four times cheaper than an Hmac object.
const oneShot = (crypto as { hash?: (alg: string, data: string, enc: 'base64') => string }).hash;

/**
 * The cache key of a user/password pair: SHA-256 over secret, user, NUL, password (the bytes as
 * latin1 text, so the encoding is injective). Users cannot contain NUL (Basic refuses controls).
 * The keys never leave the process, so a secret prefix is as good as an HMAC here.
 */
function cacheKeyOf(secret: string, user: string, password: Buffer): string {
  const data = `${secret}${user}\0${password.toString('latin1')}`;
  return oneShot !== undefined
    ? oneShot('sha256', data, 'base64')
    : createHash('sha256').update(data).digest('base64');
}

function firstEntry(users: Map<string, UserEntry>): UserEntry | null {
  const first = users.values().next();
  return first.done === true ? null : first.value;
}
