/**
 * A batched, asynchronous line writer. Lines go straight into a preallocated batch buffer (the
 * access log's formatters write their bytes there themselves, see `reserve()`; other callers pass
 * strings to `write()`), so a line costs no string building, no intermediate rope and no
 * allocation. A full buffer is sealed and written at once (the next line goes into a spare
 * buffer); a partly filled one leaves 50 ms after its first line. Sealed buffers leave together in
 * one writev(2), so a busy server makes a few large writes and a quiet one still writes promptly.
 * The buffer is bounded: past `maxBufferBytes` lines are dropped and counted rather than letting a
 * slow disk grow the heap. What is buffered at exit is written synchronously.
 * `reopen()` closes and reopens the file between two batches (logrotate's SIGUSR1 convention).
 * Files are opened with O_APPEND, so several processes (workers) can share one log: each batch is
 * one write of whole lines, and lines never interleave.
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { E, RapidError } from '../../core/errors.js';

export interface LineWriterOptions {
  /** Most bytes held while the disk is behind (default 4 MiB); lines past it are dropped. */
  maxBufferBytes?: number;
  /** The size of one batch buffer: a full one leaves at once (default 64 KiB). */
  batchBytes?: number;
  /** ... a partly filled one at the latest this long after its first line, in ms (default 50). */
  flushMs?: number;
  /** Told once per failure to write or reopen (default: one line on stderr). */
  onError?: (err: unknown) => void;
}

/** Spare batch buffers kept for reuse (two batches in flight plus the one being filled). */
const SPARES = 2;

export class LineWriter {
  readonly path: string;
  /** Lines dropped because the buffer was full. */
  dropped = 0;
  /**
   * @internal The batch being filled. After `reserve()` returned true, a formatter writes its
   * line's bytes at `buf[off] ...`, advances `off` past them and calls `commit()`.
   */
  buf: Buffer;
  /** @internal Bytes of `buf` in use. */
  off = 0;
  /** Filled batches waiting to be written (views of their buffers), and their total bytes. */
  private sealed: Buffer[] = [];
  private sealedBytes = 0;
  private spares: Buffer[] = [];
  private fh: FileHandle | null = null;
  private fd = -1;
  private readonly max: number;
  private readonly onError: (err: unknown) => void;
  private readonly size: number;
  private readonly flushMs: number;
  private timer: NodeJS.Timeout | null = null;
  private immediate = false;
  private pumping: Promise<void> | null = null;
  private reopenWanted = false;
  private closed = false;
  private readonly onExit = (): void => this.flushSync();

  private constructor(path: string, fh: FileHandle | null, options: LineWriterOptions) {
    this.path = path;
    this.fh = fh;
    this.fd = fh === null ? 1 : fh.fd;
    this.max = options.maxBufferBytes ?? 4 * 1024 * 1024;
    this.size = Math.max(1, Math.min(options.batchBytes ?? 64 * 1024, this.max));
    this.buf = Buffer.allocUnsafeSlow(this.size);
    this.flushMs = options.flushMs ?? 50;
    this.onError =
      options.onError ??
      ((err) => process.stderr.write(`rapid: log ${path}: ${(err as Error).message}\n`));
    process.on('exit', this.onExit);
  }

  /** Open (creating directories and the file as needed) `path`, or standard output for 'stdout'. */
  static async open(path: string, options: LineWriterOptions = {}): Promise<LineWriter> {
    if (path === 'stdout') return new LineWriter(path, null, options);
    return new LineWriter(path, await openLog(path), options);
  }

  /**
   * Make room in `buf` for a line of about `bytes` bytes and at most `most` (what escaping could
   * make of it). False (the line is dropped and counted) when closed or the buffer bound is
   * reached; the bound is checked against `bytes`.
   */
  reserve(bytes: number, most = bytes): boolean {
    if (this.closed || this.sealedBytes + this.off + bytes > this.max) {
      this.dropped++;
      return false;
    }
    if (this.buf.length - this.off < most) this.seal(most);
    return true;
  }

  /** After a line was written into `buf`: see that it leaves in time. */
  commit(): void {
    // While a write is in flight, the pump takes what has gathered once that write is done.
    if (this.pumping !== null) return;
    if (this.sealedBytes > 0) {
      if (!this.immediate) {
        this.immediate = true;
        setImmediate(startPump, this);
      }
    } else if (this.timer === null) this.arm();
  }

  /** Queue one line (with its newline), UTF-8 encoded. Never blocks, never throws. */
  write(line: string): void {
    if (!this.reserve(line.length, line.length * 3)) return;
    this.off += this.buf.write(line, this.off, 'utf8');
    this.commit();
  }

  /** Move the filled part of `buf` to the sealed batches; continue in a buffer with `room` bytes. */
  private seal(room: number): void {
    if (this.off > 0) {
      this.sealed.push(this.buf.subarray(0, this.off));
      this.sealedBytes += this.off;
    } else if (this.buf.length >= room) return;
    this.buf =
      room <= this.size
        ? (this.spares.pop() ?? Buffer.allocUnsafeSlow(this.size))
        : Buffer.allocUnsafeSlow(room);
    this.off = 0;
  }

  /** Take every sealed batch (and with `all`, the one being filled) for writing. */
  private take(all: boolean): Buffer[] {
    if (all && this.off > 0) this.seal(0);
    const chunks = this.sealed;
    this.sealed = [];
    this.sealedBytes = 0;
    return chunks;
  }

  /** Batch buffers whose bytes have left are filled again. */
  private recycle(chunks: Buffer[]): void {
    for (const c of chunks) {
      if (this.spares.length >= SPARES) return;
      if (c.buffer.byteLength === this.size) {
        this.spares.push(Buffer.from(c.buffer, c.byteOffset, this.size));
      }
    }
  }

  private arm(): void {
    this.timer = setTimeout(startPump, this.flushMs, this);
    this.timer.unref();
  }

  /** Close and reopen the file after the write in flight (a renamed log gets a new file). */
  reopen(): Promise<void> {
    if (this.fh === null || this.closed) return Promise.resolve();
    this.reopenWanted = true;
    return this.pump(true);
  }

  /** Resolves when everything written so far is on its way to the kernel. */
  flush(): Promise<void> {
    return this.pump(true);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.pump(true);
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.closed = true;
    process.off('exit', this.onExit);
    const fh = this.fh;
    this.fh = null;
    if (fh !== null) await fh.close().catch(() => undefined);
  }

  /** At exit: what is still buffered is written synchronously (the loop will not run again). */
  flushSync(): void {
    if (this.closed) return;
    try {
      for (const chunk of this.take(true)) {
        if (this.fh === null) process.stdout.write(chunk);
        else for (let o = 0; o < chunk.length;) o += writeSync(this.fd, chunk, o);
      }
    } catch {
      // Exiting: nowhere left to report to.
    }
  }

  private pending(): boolean {
    return this.sealedBytes > 0 || this.off > 0;
  }

  /**
   * @internal Write what is buffered: everything (`all`: flush, close, reopen), or in the
   * background what has gathered and then more only while full batches are waiting; a remainder
   * waits for the timer, so a busy server writes a few large batches rather than many small ones.
   */
  pump(all = false): Promise<void> {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.immediate = false;
    if (this.pumping !== null) return this.pumping.then(() => this.pump(all));
    if (!this.pending() && !this.reopenWanted) return Promise.resolve();
    this.pumping = this.run(all).finally(() => {
      this.pumping = null;
      if (this.pending() && !this.closed && this.timer === null) {
        if (this.sealedBytes > 0) {
          this.immediate = true;
          setImmediate(startPump, this);
        } else this.arm();
      }
    });
    return this.pumping;
  }

  private async run(all: boolean): Promise<void> {
    for (let first = true; ; first = false) {
      if (this.reopenWanted) {
        this.reopenWanted = false;
        try {
          const next = await openLog(this.path);
          const old = this.fh;
          this.fh = next;
          this.fd = next.fd;
          if (old !== null) await old.close().catch(() => undefined);
        } catch (err) {
          this.onError(err); // keep writing to the old file rather than losing lines
        }
      }
      const chunks = this.take(all || first);
      if (chunks.length === 0) return;
      try {
        if (this.fh === null) await writeStdout(chunks);
        else await writeAll(this.fh, chunks);
      } catch (err) {
        this.onError(err);
      }
      this.recycle(chunks);
    }
  }
}

function startPump(w: LineWriter): void {
  void w.pump();
}

async function openLog(path: string): Promise<FileHandle> {
  try {
    mkdirSync(dirname(path), { recursive: true });
    return await open(path, 'a', 0o644);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new RapidError(E.LOG_OPEN_FAILED, `${path}: ${code}`, { cause: err });
  }
}

/** One writev(2) of every chunk (more only after a short write). */
async function writeAll(fh: FileHandle, chunks: Buffer[]): Promise<void> {
  let rest = chunks;
  for (;;) {
    let { bytesWritten } = await fh.writev(rest);
    while (rest.length > 0 && bytesWritten >= (rest[0] as Buffer).length) {
      bytesWritten -= (rest[0] as Buffer).length;
      rest = rest.slice(1);
    }
    if (rest.length === 0) return;
    rest = [(rest[0] as Buffer).subarray(bytesWritten), ...rest.slice(1)];
  }
}

/** Resolves once standard output is done with every chunk (their buffers are then reused). */
function writeStdout(chunks: Buffer[]): Promise<void> {
  return new Promise((resolve, reject) => {
    let left = chunks.length;
    for (const c of chunks) {
      process.stdout.write(c, (err) => {
        if (err) reject(err);
        else if (--left === 0) resolve();
      });
    }
  });
}

/** Check a log path synchronously at configuration time (one clear error instead of a late one). */
export function checkLogPath(path: string): void {
  if (path === 'stdout') return;
  try {
    mkdirSync(dirname(path), { recursive: true });
    closeSync(openSync(path, 'a', 0o644));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new RapidError(E.LOG_OPEN_FAILED, `${path}: ${code}`, { cause: err });
  }
}
