/**
 * multipart/form-data bodies (RFC 7578), parsed by busboy as the body streams in.
 *
 * Two ways to take the files:
 * - storage 'disk' (default): each file is streamed to a new file in `tmpDir` (random name,
 *   mode 0600, never derived from the client's filename); `parse` resolves to
 *   `{ fields, files: [{ fieldName, filename, mimeType, encoding, size, path }], cleanup() }`.
 *   The files are the handler's to move or delete (`cleanup()` removes them all); if the parse
 *   fails for any reason (a limit, a malformed body, the client going away) every file written
 *   so far is removed before the promise rejects.
 * - storage 'stream': `parse` resolves to an async iterable of parts; a file part carries a
 *   Readable that must be consumed (piped, read, or `resume()`d) before the next part can arrive:
 *   busboy reads the body in order and the socket is paused while a file is not read. Asking for
 *   the next part discards what is left of an untouched file stream, so a handler cannot deadlock.
 *
 * Limits (each over-limit is a 413 with its own code): the whole body (`limit`), `fileSize` per
 * file, `files`, `fields`, `parts` (fields + files), `fieldSize` per value, `fieldNameSize`, and
 * `headerPairs` per part. A file input left empty (`filename=""`, what browsers send when no file
 * is chosen) is skipped, as multer does.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import { E, RapidError, type ErrorSpec } from '../../core/errors.js';
import type { RapidRequest } from '../../core/types.js';
import type { BodyParseContext, BodyParser } from '../types.js';
import { checkLimit, DEFAULT_BODY_LIMIT, parseContentType } from './media.js';
import { drainAway, tooLarge } from './read.js';
import type { FormFields } from './urlencoded.js';

export interface MultipartLimits {
  /** Bytes per file (default 10 MiB). */
  fileSize: number;
  /** Files per request (default 10). */
  files: number;
  /** Non-file fields per request (default 100). */
  fields: number;
  /** Parts (fields + files) per request (default 1000). */
  parts: number;
  /** Bytes per field value (default 1 MiB). */
  fieldSize: number;
  /** Bytes per field name (default 200). */
  fieldNameSize: number;
  /** Header lines per part (default 2000). */
  headerPairs: number;
}

export const DEFAULT_MULTIPART_LIMITS: Readonly<MultipartLimits> = Object.freeze({
  fileSize: 10 * 1024 * 1024,
  files: 10,
  fields: 100,
  parts: 1000,
  fieldSize: 1024 * 1024,
  fieldNameSize: 200,
  headerPairs: 2000,
});

export interface MultipartOptions {
  /** Largest whole body in bytes (default: the app's bodyLimit, 1 MiB on its own). Remember the
   * engine's `limits.maxBodyBytes` (1 MiB by default) applies underneath: raise both for uploads. */
  limit?: number;
  limits?: Partial<MultipartLimits>;
  /** 'disk' (default): files to temporary files; 'stream': an async iterable of parts. */
  storage?: 'disk' | 'stream';
  /** Directory for 'disk' storage (default os.tmpdir(); created if missing). */
  tmpDir?: string;
  /** Media types handled (default multipart/form-data). */
  types?: readonly string[];
}

export interface UploadedFile {
  /** The form field's name. */
  readonly fieldName: string;
  /** The client's file name, without any directory part (never use it as a path unchecked). */
  readonly filename: string;
  readonly mimeType: string;
  /** Content-Transfer-Encoding of the part ('7bit' when absent). */
  readonly encoding: string;
  readonly size: number;
  /** Where the file was stored. */
  readonly path: string;
}

/** What 'disk' storage resolves to. */
export interface MultipartBody {
  readonly fields: FormFields;
  readonly files: UploadedFile[];
  /** Remove the stored files (safe to call more than once; missing files are ignored). */
  cleanup(): Promise<void>;
}

export interface FieldPart {
  readonly kind: 'field';
  readonly name: string;
  readonly value: string;
  readonly mimeType: string;
  readonly encoding: string;
}

export interface FilePart {
  readonly kind: 'file';
  readonly name: string;
  readonly filename: string;
  readonly mimeType: string;
  readonly encoding: string;
  /** The file's bytes; errors with the limit's RapidError when the file is too large. */
  readonly stream: Readable;
}

export type Part = FieldPart | FilePart;

/** What 'stream' storage resolves to: iterate once; `fields` fills in as fields go by. */
export interface MultipartStream extends AsyncIterable<Part> {
  readonly fields: FormFields;
}

export const MULTIPART_TYPES: readonly string[] = Object.freeze(['multipart/form-data']);

export function multipart(options: MultipartOptions = {}): BodyParser {
  const limit = checkLimit('multipart limit', options.limit);
  const limits = resolveMultipartLimits(options.limits);
  const storage = options.storage ?? 'disk';
  if (storage !== 'disk' && storage !== 'stream') {
    throw new RapidError(E.BODY_INVALID_OPTION, `multipart storage must be 'disk' or 'stream'`);
  }
  const tmpDir = options.tmpDir ?? tmpdir();
  let tmpReady: Promise<unknown> | null = null;
  const types = Object.freeze([...(options.types ?? MULTIPART_TYPES)]);
  return {
    types,
    limit,
    async parse(
      req: RapidRequest,
      ctx: BodyParseContext,
    ): Promise<MultipartBody | MultipartStream> {
      const parts = new PartIterator(req, ctx.contentType, limit ?? ctx.limit, limits);
      if (storage === 'stream') return parts;
      tmpReady ??= mkdir(tmpDir, { recursive: true }).catch((err: unknown) => {
        tmpReady = null;
        throw err;
      });
      try {
        await tmpReady;
      } catch (err) {
        parts.abort();
        throw new RapidError(E.BODY_UPLOAD_FAILED, (err as Error).message, { cause: err });
      }
      return saveToDisk(parts, tmpDir);
    },
  };
}

/**
 * The parts of a multipart body, outside the app (a native handler):
 *   for await (const part of multipartParts(req)) { ... }
 * The Content-Type must be multipart/form-data with a boundary (else the iteration fails: 415/400).
 */
export function multipartParts(
  req: RapidRequest,
  options: { limit?: number; limits?: Partial<MultipartLimits> } = {},
): MultipartStream {
  const contentType = req.header('content-type') ?? '';
  return new PartIterator(
    req,
    contentType,
    checkLimit('multipart limit', options.limit) ?? DEFAULT_BODY_LIMIT,
    resolveMultipartLimits(options.limits),
  );
}

function resolveMultipartLimits(partial: Partial<MultipartLimits> | undefined): MultipartLimits {
  const limits = { ...DEFAULT_MULTIPART_LIMITS, ...partial };
  for (const [k, v] of Object.entries(limits)) checkLimit(`multipart limits.${k}`, v);
  return limits;
}

async function saveToDisk(parts: PartIterator, tmpDir: string): Promise<MultipartBody> {
  const files: UploadedFile[] = [];
  const paths: string[] = [];
  try {
    for await (const part of parts) {
      if (part.kind !== 'file') continue;
      const path = join(tmpDir, `rapid-upload-${randomUUID()}`);
      paths.push(path);
      // 'wx': never follow or reuse an existing file; 0600: uploads are private to this user.
      const out = createWriteStream(path, { flags: 'wx', mode: 0o600 });
      await pipeline(part.stream, out);
      files.push({
        fieldName: part.name,
        filename: part.filename,
        mimeType: part.mimeType,
        encoding: part.encoding,
        size: out.bytesWritten,
        path,
      });
    }
  } catch (err) {
    const reason = parts.failureReason;
    parts.abort();
    await removeAll(paths);
    if (err instanceof RapidError) throw err;
    if (reason !== null) throw reason;
    // A file system failure (ENOSPC, EACCES: errors with a syscall) is the server's fault; any
    // other error comes from busboy ending a file early: the body was malformed.
    if ((err as NodeJS.ErrnoException).syscall !== undefined) {
      throw new RapidError(E.BODY_UPLOAD_FAILED, (err as Error).message, { cause: err });
    }
    throw new RapidError(E.BODY_INVALID_MULTIPART, (err as Error).message, { cause: err });
  }
  return {
    fields: parts.fields,
    files,
    cleanup: () => removeAll(paths),
  };
}

async function removeAll(paths: readonly string[]): Promise<void> {
  await Promise.all(paths.map((p) => rm(p, { force: true }).catch(() => undefined)));
}

type Waiter = { resolve: (r: IteratorResult<Part>) => void; reject: (e: Error) => void };

/**
 * Feeds the request body to busboy and hands out parts in order. Body backpressure: busboy's
 * write callback waits while a file stream is unread, `write()` returns false, the request stream
 * is paused, and the engine stops reading the socket.
 */
class PartIterator implements MultipartStream, AsyncIterator<Part> {
  readonly fields: FormFields = Object.create(null) as FormFields;
  private readonly queue: Part[] = [];
  private waiter: Waiter | null = null;
  private failure: Error | null = null;
  private finished = false;
  private started = false;
  private current: FilePart | null = null;
  private source: Readable | null = null;
  private bb: busboy.Busboy | null = null;
  private parts = 0;

  constructor(
    private readonly req: RapidRequest,
    private readonly contentType: string,
    private readonly limit: number,
    private readonly limits: MultipartLimits,
  ) {}

  /** Why the parse failed (null while it has not). */
  get failureReason(): Error | null {
    return this.failure;
  }

  [Symbol.asyncIterator](): AsyncIterator<Part> {
    return this;
  }

  next(): Promise<IteratorResult<Part>> {
    if (!this.started) this.start();
    const cur = this.current;
    // The previous file was never read: discard its bytes so the body can move on.
    if (cur !== null && !cur.stream.readableEnded && cur.stream.readableFlowing === null) {
      cur.stream.resume();
    }
    if (this.failure !== null) return Promise.reject(this.failure);
    const part = this.queue.shift();
    if (part !== undefined) return Promise.resolve(this.take(part));
    if (this.finished) return Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  return(): Promise<IteratorResult<Part>> {
    if (!this.finished) this.abort();
    return Promise.resolve({ done: true, value: undefined });
  }

  private take(part: Part): IteratorResult<Part> {
    if (part.kind === 'file') this.current = part;
    return { done: false, value: part };
  }

  private emit(part: Part): void {
    if (this.failure !== null) return;
    const w = this.waiter;
    if (w !== null) {
      this.waiter = null;
      w.resolve(this.take(part));
    } else {
      this.queue.push(part);
    }
  }

  private start(): void {
    this.started = true;
    const req = this.req;
    if (!req.hasBody) {
      this.finished = true;
      return;
    }
    const ct = parseContentType(this.contentType);
    if (ct.mediaType !== 'multipart/form-data') {
      this.fail(new RapidError(E.BODY_UNSUPPORTED_TYPE, ct.mediaType || 'no Content-Type'));
      return;
    }
    if (!ct.params.boundary) {
      this.fail(new RapidError(E.BODY_INVALID_MULTIPART, 'no boundary parameter'));
      return;
    }
    if (req.contentLength > this.limit) {
      this.fail(tooLarge(this.limit, req.contentLength));
      return;
    }
    const limits = this.limits;
    let bb: busboy.Busboy;
    try {
      bb = busboy({
        headers: { 'content-type': this.contentType },
        // busboy flags a file or value as truncated when it *reaches* its limit, so give it one
        // byte more: a file of exactly fileSize bytes is allowed. `parts` is counted here.
        limits: {
          fileSize: limits.fileSize + 1,
          files: limits.files,
          fields: limits.fields,
          fieldSize: limits.fieldSize + 1,
          parts: limits.parts + 1,
          headerPairs: limits.headerPairs,
        },
        // Browsers send UTF-8 file names raw in filename="..." (RFC 7578 §4.2).
        defParamCharset: 'utf8',
      });
    } catch (err) {
      this.fail(new RapidError(E.BODY_INVALID_MULTIPART, (err as Error).message));
      return;
    }
    this.bb = bb;
    bb.on('field', (name, value, info) => {
      if (!this.countPart(name)) return;
      if (info.valueTruncated) {
        this.fail(
          limitError(E.BODY_FIELD_TOO_LARGE, `value of "${short(name)}"`, limits.fieldSize),
        );
        return;
      }
      const prev = this.fields[name];
      if (prev === undefined) this.fields[name] = value;
      else if (typeof prev === 'string') this.fields[name] = [prev, value];
      else prev.push(value);
      this.emit({ kind: 'field', name, value, mimeType: info.mimeType, encoding: info.encoding });
    });
    bb.on('file', (name, stream, info) => {
      // An empty file input (filename="", which busboy reports as undefined) is not a file.
      const filename = info.filename;
      if (filename === undefined || filename === '') {
        stream.on('error', noop);
        stream.resume();
        return;
      }
      if (!this.countPart(name)) {
        stream.on('error', noop);
        stream.resume();
        return;
      }
      // Errors reach whoever consumes the stream (pipeline sees an already-errored stream too);
      // a stream failed before the handler took it must not crash the process.
      stream.on('error', noop);
      stream.on('limit', () =>
        this.fail(limitError(E.BODY_FILE_TOO_LARGE, `"${short(filename)}"`, limits.fileSize)),
      );
      this.emit({
        kind: 'file',
        name,
        filename,
        mimeType: info.mimeType,
        encoding: info.encoding,
        stream,
      });
    });
    bb.on('filesLimit', () => this.fail(limitError(E.BODY_TOO_MANY_FILES, '', limits.files)));
    bb.on('fieldsLimit', () => this.fail(limitError(E.BODY_TOO_MANY_FIELDS, '', limits.fields)));
    bb.on('partsLimit', () => this.fail(limitError(E.BODY_TOO_MANY_PARTS, '', limits.parts)));
    bb.on('error', (err: Error) =>
      this.fail(new RapidError(E.BODY_INVALID_MULTIPART, err.message, { cause: err })),
    );
    bb.on('close', () => {
      if (this.failure !== null) return;
      this.finished = true;
      const w = this.waiter;
      if (w !== null && this.queue.length === 0) {
        this.waiter = null;
        w.resolve({ done: true, value: undefined });
      }
    });

    let source: Readable;
    try {
      source = req.stream();
    } catch (err) {
      this.fail(err as Error);
      return;
    }
    this.source = source;
    const limit = this.limit;
    let total = 0;
    source.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (total > limit) {
        this.fail(tooLarge(limit, total));
        return;
      }
      if (!bb.write(chunk)) source.pause();
    });
    bb.on('drain', () => {
      if (this.failure === null) source.resume();
    });
    source.on('end', () => bb.end());
    // The client went away, the body timed out, or its framing broke: that error, as it is.
    source.on('error', (err) => this.fail(err));
  }

  /** Count a part against `parts` and check its name; false when a limit failed the parse. */
  private countPart(name: string): boolean {
    if (this.failure !== null) return false;
    if (++this.parts > this.limits.parts) {
      this.fail(limitError(E.BODY_TOO_MANY_PARTS, '', this.limits.parts));
      return false;
    }
    if (Buffer.byteLength(name) > this.limits.fieldNameSize) {
      this.fail(limitError(E.BODY_FIELD_TOO_LARGE, 'field name', this.limits.fieldNameSize));
      return false;
    }
    return true;
  }

  /** Stop: the handler gave up on the parts (or saving them failed). */
  abort(): void {
    this.fail(new RapidError(E.REQUEST_ABORTED, 'multipart parsing stopped'));
  }

  private fail(err: Error): void {
    if (this.failure !== null || this.finished) return;
    this.failure = err;
    this.finished = true;
    this.queue.length = 0;
    const source = this.source;
    if (source !== null) drainAway(source);
    const bb = this.bb;
    if (bb !== null) {
      bb.removeAllListeners('error');
      bb.on('error', noop);
      // Destroying busboy destroys the file stream in flight with `err`, so a handler piping it
      // sees the cause. Not now: we may be inside one of busboy's own callbacks (a 'limit'
      // event), which goes on using its state after the event returns.
      process.nextTick(destroyLater, bb, err, this.current);
    }
    const w = this.waiter;
    if (w !== null) {
      this.waiter = null;
      w.reject(err);
    }
  }
}

function noop(): void {}

function destroyLater(bb: busboy.Busboy, err: Error, cur: FilePart | null): void {
  bb.destroy(err);
  if (cur !== null && !cur.stream.destroyed && !cur.stream.readableEnded) cur.stream.destroy(err);
}

function limitError(spec: ErrorSpec, what: string, max: number): RapidError {
  return new RapidError(spec, what === '' ? `limit ${max}` : `${what}, limit ${max}`);
}

/** A client-supplied name, shortened and made printable for an error message. */
function short(s: string): string {
  const cut = s.length > 60 ? `${s.slice(0, 60)}…` : s;
  return cut.replace(/[^\x20-\x7e\u00a0-\uffff]/g, '?').replace(/"/g, "'");
}
