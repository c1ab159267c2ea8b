/**
 * A batched, asynchronous line writer: lines are appended to one string and leave in one write
 * per batch: as soon as 64 KiB are waiting, or 50 ms after the first line of a batch, whichever
 * comes first (a busy server writes a few large batches, a quiet one still writes promptly). The
 * buffer is bounded: past `maxBufferBytes` lines are dropped and counted rather than letting a
 * slow disk grow the heap. What is buffered at exit is written synchronously.
 * `reopen()` closes and reopens the file between two batches (logrotate's SIGUSR1 convention).
 * Files are opened with O_APPEND, so several processes (workers) can share one log: each batch is
 * one write(2) of whole lines, and lines never interleave.
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { E, RapidError } from '../../core/errors.js';

export interface LineWriterOptions {
  /** Most bytes held while the disk is behind (default 4 MiB); lines past it are dropped. */
  maxBufferBytes?: number;
  /** A batch leaves as soon as this many bytes are waiting (default 64 KiB). */
  batchBytes?: number;
  /** ... or at the latest this long after its first line, in ms (default 50). */
  flushMs?: number;
  /** Told once per failure to write or reopen (default: one line on stderr). */
  onError?: (err: unknown) => void;
}

export class LineWriter {
  readonly path: string;
  /** Lines dropped because the buffer was full. */
  dropped = 0;
  private buf = '';
  private fh: FileHandle | null = null;
  private fd = -1;
  private readonly max: number;
  private readonly onError: (err: unknown) => void;
  private readonly batch: number;
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
    this.batch = options.batchBytes ?? 64 * 1024;
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

  /** Queue one line (with its newline). Never blocks, never throws. */
  write(line: string): void {
    if (this.closed) return;
    if (this.buf.length + line.length > this.max) {
      this.dropped++;
      return;
    }
    this.buf += line;
    // While a write is in flight, the pump takes what has gathered once that write is done.
    if (this.pumping !== null) return;
    if (this.buf.length >= this.batch) {
      if (!this.immediate) {
        this.immediate = true;
        setImmediate(startPump, this);
      }
    } else if (this.timer === null) this.arm();
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
    if (this.buf === '' || this.closed) return;
    const chunk = this.buf;
    this.buf = '';
    try {
      if (this.fh === null) process.stdout.write(chunk);
      else writeSync(this.fd, chunk);
    } catch {
      // Exiting: nowhere left to report to.
    }
  }

  /**
   * @internal Write what is buffered: everything (`all`: flush, close, reopen), or in the
   * background the first batch and then more only while full batches are waiting; a remainder
   * waits for the timer, so a busy server writes a few large batches rather than many small ones.
   */
  pump(all = false): Promise<void> {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.immediate = false;
    if (this.pumping !== null) return this.pumping.then(() => this.pump(all));
    if (this.buf === '' && !this.reopenWanted) return Promise.resolve();
    this.pumping = this.run(all).finally(() => {
      this.pumping = null;
      if (this.buf !== '' && !this.closed && this.timer === null) {
        if (this.buf.length >= this.batch) {
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
      if (this.buf === '') return;
      if (!all && !first && this.buf.length < this.batch) return;
      const chunk = this.buf;
      this.buf = '';
      try {
        if (this.fh === null) await writeStdout(chunk);
        else await writeAll(this.fh, Buffer.from(chunk, 'utf8'));
      } catch (err) {
        this.onError(err);
      }
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

async function writeAll(fh: FileHandle, data: Buffer): Promise<void> {
  let off = 0;
  while (off < data.length) {
    const { bytesWritten } = await fh.write(data, off, data.length - off);
    off += bytesWritten;
  }
}

function writeStdout(chunk: string): Promise<void> {
  return new Promise((resolve) => {
    if (process.stdout.write(chunk)) resolve();
    else process.stdout.once('drain', resolve);
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
