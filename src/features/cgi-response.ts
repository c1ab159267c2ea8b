/**
 * What FastCGI and CGI share on the way out: the script's output is a CGI response (RFC 3875 §6),
 * a header block ended by an empty line, then the body. `CgiOutput` takes the output in pieces
 * split anywhere, parses the header block (bounded), applies it to the Rapid response, then
 * streams the body with backpressure: when the client's socket is full it pauses the producer
 * (the FastCGI connection or the child's stdout) until the response drains.
 *
 * Header rules:
 * - `Status: 404 Not Found` sets the status; without it the status is 200, or 302 when there is
 *   a `Location` (a client redirect, RFC 3875 §6.2.3/§6.2.4). A local redirect (a Location path
 *   with no other header, §6.2.2) is also sent to the client as a 302: the handler cannot route a
 *   request anew, and browsers resolve the relative reference exactly as nginx's clients do.
 * - Framing and hop-by-hop fields (Connection, Keep-Alive, Transfer-Encoding, TE, Trailer,
 *   Upgrade, Proxy-Connection) are the server's business and dropped; a Content-Length that is
 *   not a decimal integer is dropped (the engine then frames the body itself).
 * - Repeated fields (Set-Cookie) stay separate lines.
 */
import type { ErrorSpec } from '../core/errors.js';
import type { RapidResponse } from '../core/types.js';

/** Largest header block a script may send (nginx's fastcgi_buffer_size is 4-8 KB; PHP apps with
 * many cookies need more). */
export const MAX_CGI_HEAD_BYTES = 64 * 1024;

/** Something producing the output that can be told to stop and go on (backpressure). */
export interface Flow {
  pause(): void;
  resume(): void;
}

const DROPPED = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'proxy-connection',
  'status',
]);

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/** Where the header block ends in `buf`: [end of head, start of body], or null. */
function findHeadEnd(buf: Buffer, from: number): [number, number] | null {
  let i = buf.indexOf(0x0a, from);
  while (i !== -1) {
    // LF LF or LF CR LF: an empty line (CGI allows LF or CRLF as newline).
    if (buf[i + 1] === 0x0a) return [i, i + 2];
    if (buf[i + 1] === 0x0d && buf[i + 2] === 0x0a) return [i, i + 3];
    if (i + 1 >= buf.length || (buf[i + 1] === 0x0d && i + 2 >= buf.length)) return null;
    i = buf.indexOf(0x0a, i + 1);
  }
  return null;
}

export class CgiOutput {
  /** True once the header block has been parsed and applied. */
  headersDone = false;
  /** Why the header block was refused (set when push returns false). */
  reason = '';
  private head: Buffer | null = null;
  private paused = false;
  private readonly res: RapidResponse;
  private readonly flow: Flow;

  constructor(res: RapidResponse, flow: Flow) {
    this.res = res;
    this.flow = flow;
  }

  /**
   * Output bytes from the script. Returns false when the header block is malformed or too large
   * (nothing has been sent then; the caller answers 502), or when the response refuses the body
   * (the caller cuts the connection).
   */
  push(chunk: Buffer): boolean {
    try {
      return this.take(chunk);
    } catch (err) {
      // The response refused what the script sent (more body than its Content-Length): never
      // let that escape into the socket's event handler.
      return this.refuse((err as Error).message);
    }
  }

  private take(chunk: Buffer): boolean {
    if (this.headersDone) {
      this.body(chunk);
      return true;
    }
    const prev = this.head;
    const buf = prev === null ? chunk : Buffer.concat([prev, chunk]);
    // A header block may start with an empty line only if it is empty, which is not allowed.
    const end = findHeadEnd(buf, prev === null ? 0 : Math.max(0, prev.length - 2));
    if (end === null) {
      if (buf.length > MAX_CGI_HEAD_BYTES) return this.refuse('header block too large');
      this.head = buf;
      return true;
    }
    if (end[0] > MAX_CGI_HEAD_BYTES) return this.refuse('header block too large');
    this.head = null;
    if (!this.apply(buf.toString('latin1', 0, end[0]))) return false;
    this.headersDone = true;
    if (end[1] < buf.length) this.body(buf.subarray(end[1]));
    return true;
  }

  /** The output ended. Returns false when no complete header block was received. */
  end(): boolean {
    if (!this.headersDone) {
      if (this.reason === '') this.reason = 'output ended before the header block';
      return false;
    }
    if (!this.res.finished) this.res.end();
    return true;
  }

  private refuse(why: string): false {
    this.reason = why;
    return false;
  }

  private apply(block: string): boolean {
    const res = this.res;
    const lines = block.split('\n');
    let status = 0;
    let location = false;
    const fields: [string, string][] = [];
    for (let line of lines) {
      if (line.endsWith('\r')) line = line.slice(0, -1);
      if (line.length === 0) return this.refuse('empty header line');
      const colon = line.indexOf(':');
      if (colon <= 0) return this.refuse(`malformed header line ${JSON.stringify(line)}`);
      const name = line.slice(0, colon);
      const value = line.slice(colon + 1).trim();
      if (!TOKEN.test(name) || !VALUE.test(value)) {
        return this.refuse(`invalid header field ${JSON.stringify(name)}`);
      }
      const key = name.toLowerCase();
      if (key === 'status') {
        const m = /^([1-9]\d\d)(?:\s|$)/.exec(value);
        const code = m === null ? 0 : Number(m[1]);
        if (code < 200 || code > 599) return this.refuse(`invalid Status ${JSON.stringify(value)}`);
        status = code;
        continue;
      }
      if (key === 'location') location = true;
      if (DROPPED.has(key)) continue;
      if (key === 'content-length' && !/^\d{1,15}$/.test(value)) continue;
      fields.push([name, value]);
    }
    res.status(status !== 0 ? status : location ? 302 : 200);
    for (const [name, value] of fields) res.appendHeader(name, value);
    return true;
  }

  private body(chunk: Buffer): void {
    const res = this.res;
    if (res.finished) return;
    if (!res.write(chunk) && !this.paused) {
      this.paused = true;
      this.flow.pause();
      void res.drain().then(() => {
        this.paused = false;
        this.flow.resume();
      });
    }
  }
}

/** Answer with a catalog error when nothing has been sent yet; true when it could. */
export function sendErrorSpec(res: RapidResponse, spec: ErrorSpec): boolean {
  if (res.headersSent || res.finished) return false;
  res.status(spec.status);
  for (const name of ['content-length', 'set-cookie', 'location', 'content-type']) {
    if (res.hasHeader(name)) res.removeHeader(name);
  }
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.send(`${spec.message}\n`);
  return true;
}

/** A log callback: (level, message). The default writes one line to stderr. */
export type InteropLog = (level: 'info' | 'warn' | 'error', message: string) => void;

export function defaultLog(area: string): InteropLog {
  return (level, message) => {
    process.stderr.write(`rapid ${area} ${level}: ${message}\n`);
  };
}
