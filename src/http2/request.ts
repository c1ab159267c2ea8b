/**
 * An HTTP/2 stream's request as a RapidRequest. Pseudo-headers become method/url/host; the other
 * fields are the stream's header list (names already lowercase on h2). A `host` field is added
 * from `:authority` when the client sent none, so code reading `headers.host` works on both
 * protocols.
 *
 * Body flow: the stream is a Readable that stays paused until the handler asks for the body, so
 * nghttp2's flow control (the stream window is only re-opened as data is consumed) bounds what
 * a client can push at a handler that does not read. `body()` and `stream()` enforce
 * limits.maxBodyBytes (RAPID_ERR_BODY_TOO_LARGE, 413) and a declared content-length.
 */
import type { ServerHttp2Stream } from 'node:http2';
import { Readable } from 'node:stream';
import { E, RapidError } from '../core/errors.js';
import type { RapidRequest } from '../core/types.js';
import { headerOf, headersObject, parseJsonBody } from '../http1/request.js';

/** What the request needs from its session. */
export interface H2RequestContext {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly secure: boolean;
  readonly maxBodyBytes: number;
}

export class H2Request implements RapidRequest {
  readonly method: string;
  readonly url: string;
  readonly path: string;
  readonly search: string;
  readonly httpVersion = '2.0' as const;
  readonly rawHeaders: string[];
  readonly host: string;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly secure: boolean;
  readonly contentLength: number;
  readonly hasBody: boolean;
  readonly trailers: string[] = [];
  /** The stream (for whoever needs the h2 specifics). */
  readonly h2stream: ServerHttp2Stream;
  /** True once the whole body has arrived (or there is none). */
  complete: boolean;

  private readonly maxBodyBytes: number;
  private _headers: Record<string, string> | undefined = undefined;
  private used = false;
  private controller: AbortController | null = null;
  /** Set by the session when the response is complete; a later close is no abort. */
  responded = false;

  constructor(stream: ServerHttp2Stream, raw: string[], endStream: boolean, ctx: H2RequestContext) {
    this.h2stream = stream;
    let method = '';
    let path = '';
    let authority = '';
    let hasHost = false;
    let length = -1;
    const fields: string[] = [];
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i] as string;
      const value = raw[i + 1] as string;
      if (name.charCodeAt(0) === 0x3a /* : */) {
        if (name === ':method') method = value;
        else if (name === ':path') path = value;
        else if (name === ':authority') authority = value;
        continue;
      }
      if (name === 'host') {
        hasHost = true;
        if (authority === '') authority = value;
      } else if (name === 'content-length') length = Number(value);
      fields.push(name, value);
    }
    if (!hasHost && authority !== '') fields.unshift('host', authority);
    this.method = method;
    this.url = path;
    const q = path.indexOf('?');
    this.path = q === -1 ? path : path.slice(0, q);
    this.search = q === -1 ? '' : path.slice(q);
    this.rawHeaders = fields;
    this.host = authority;
    this.remoteAddress = ctx.remoteAddress;
    this.remotePort = ctx.remotePort;
    this.secure = ctx.secure;
    this.maxBodyBytes = ctx.maxBodyBytes;
    this.hasBody = !endStream;
    this.complete = endStream;
    this.contentLength = endStream ? 0 : Number.isSafeInteger(length) && length >= 0 ? length : -1;
  }

  header(name: string): string | undefined {
    return headerOf(this.rawHeaders, name);
  }

  get headers(): Readonly<Record<string, string>> {
    return (this._headers ??= headersObject(this.rawHeaders));
  }

  /** Aborted when the client resets the stream or the session goes before the response is done
   * (the fetch adapter listens to it). */
  get signal(): AbortSignal {
    if (this.controller === null) {
      const c = new AbortController();
      this.controller = c;
      if (this.h2stream.destroyed && !this.responded) c.abort();
      else
        this.h2stream.once('close', () => {
          if (!this.responded) c.abort();
        });
    }
    return this.controller.signal;
  }

  private claim(): void {
    if (this.used) throw new RapidError(E.BODY_ALREADY_READ);
    this.used = true;
  }

  body(): Promise<Buffer> {
    try {
      this.claim();
    } catch (err) {
      return Promise.reject(err as Error);
    }
    if (!this.hasBody) return Promise.resolve(Buffer.alloc(0));
    const chunks: Buffer[] = [];
    let size = 0;
    return new Promise<Buffer>((resolve, reject) => {
      this.pump(
        (chunk) => {
          chunks.push(chunk);
          size += chunk.length;
          return true;
        },
        (err) => {
          if (err !== null) reject(err);
          else resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
        },
      );
    });
  }

  async text(): Promise<string> {
    return (await this.body()).toString('utf8');
  }

  async json<T = unknown>(): Promise<T> {
    return parseJsonBody<T>(await this.text());
  }

  stream(): Readable {
    this.claim();
    const src = this.h2stream;
    const readable = new Readable({ highWaterMark: 64 * 1024, read: () => src.resume() });
    if (!this.hasBody) {
      readable.push(null);
      return readable;
    }
    this.pump(
      (chunk) => {
        if (!readable.push(chunk)) src.pause();
        return true;
      },
      (err) => {
        if (err !== null) readable.destroy(err);
        else readable.push(null);
      },
    );
    return readable;
  }

  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    return this.stream()[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  /**
   * Move the stream's data to `onChunk` with the size checks; `done` is called once, with null
   * at the end of a body of the right size, or with the error.
   */
  private pump(onChunk: (chunk: Buffer) => boolean, done: (err: Error | null) => void): void {
    const src = this.h2stream;
    const declared = this.contentLength;
    const limit = this.maxBodyBytes;
    let received = 0;
    let settled = false;
    const finish = (err: Error | null): void => {
      if (settled) return;
      settled = true;
      src.off('data', onData);
      src.off('end', onEnd);
      src.off('close', onClose);
      if (err === null) this.complete = true;
      done(err);
    };
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      if (received > limit) {
        src.pause();
        finish(new RapidError(E.BODY_TOO_LARGE, `more than ${limit} bytes`));
      } else if (declared >= 0 && received > declared) {
        src.pause();
        finish(new RapidError(E.HTTP2_BODY_LENGTH_MISMATCH, `more than ${declared} bytes`));
      } else onChunk(chunk);
    };
    const onEnd = (): void => {
      if (declared >= 0 && received !== declared) {
        finish(
          new RapidError(E.HTTP2_BODY_LENGTH_MISMATCH, `${received} of ${declared} bytes sent`),
        );
      } else finish(null);
    };
    const onClose = (): void => finish(new RapidError(E.REQUEST_ABORTED));
    if (declared > limit) {
      queueMicrotask(() => finish(new RapidError(E.BODY_TOO_LARGE, `${declared} bytes`)));
      return;
    }
    src.on('data', onData);
    src.once('end', onEnd);
    src.once('close', onClose);
  }
}
