/**
 * An HTTP/2 stream's request as a RapidRequest, on node:http2 streams. The header mapping and
 * the whole-body read are shared with the own engine's H2StreamRequest (src/http2/request-head.ts).
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
import {
  bodyOverrun,
  bodyShort,
  initRequest,
  readBody,
  type H2RequestContext,
} from './request-head.js';

export type { H2RequestContext } from './request-head.js';

export class H2Request implements RapidRequest {
  readonly method!: string;
  readonly url!: string;
  readonly path!: string;
  readonly search!: string;
  readonly httpVersion = '2.0' as const;
  readonly rawHeaders!: string[];
  readonly host!: string;
  readonly remoteAddress!: string;
  readonly remotePort!: number;
  readonly secure!: boolean;
  readonly contentLength!: number;
  readonly hasBody!: boolean;
  readonly trailers: string[] = [];
  /** The stream (for whoever needs the h2 specifics). */
  readonly h2stream: ServerHttp2Stream;
  /** True once the whole body has arrived (or there is none). */
  complete!: boolean;
  /** @internal limits.maxBodyBytes */
  readonly maxBodyBytes!: number;

  private _headers: Record<string, string> | undefined = undefined;
  private used = false;
  private controller: AbortController | null = null;
  /** Set by the session when the response is complete; a later close is no abort. */
  responded = false;

  constructor(stream: ServerHttp2Stream, raw: string[], endStream: boolean, ctx: H2RequestContext) {
    this.h2stream = stream;
    initRequest(this, raw, endStream, ctx);
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

  /** @internal RAPID_ERR_BODY_ALREADY_READ on a second read of the body. */
  claim(): void {
    if (this.used) throw new RapidError(E.BODY_ALREADY_READ);
    this.used = true;
  }

  body(): Promise<Buffer> {
    return readBody(this);
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
   * @internal Move the stream's data to `onChunk` with the size checks; `done` is called once,
   * with null at the end of a body of the right size, or with the error.
   */
  pump(onChunk: (chunk: Buffer) => void, done: (err: Error | null) => void): void {
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
      const err = bodyOverrun(received, limit, declared);
      if (err === null) onChunk(chunk);
      else {
        src.pause();
        finish(err);
      }
    };
    const onEnd = (): void => finish(bodyShort(received, declared));
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
