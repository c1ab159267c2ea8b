/**
 * An HTTP/2 stream's request as a RapidRequest, on node:http2 streams. The header mapping and
 * the body API are H2RequestBase's (src/http2/request-base.ts).
 *
 * Body flow: the stream is a Readable that stays paused until the handler asks for the body, so
 * nghttp2's flow control (the stream window is only re-opened as data is consumed) bounds what
 * a client can push at a handler that does not read. `body()` and `stream()` enforce
 * limits.maxBodyBytes (RAPID_ERR_BODY_TOO_LARGE, 413) and a declared content-length.
 */
import type { ServerHttp2Stream } from 'node:http2';
import { Readable } from 'node:stream';
import { E, RapidError } from '../core/errors.js';
import { bodyOverrun, bodyShort, H2RequestBase, type H2RequestContext } from './request-base.js';

export type { H2RequestContext } from './request-base.js';

export class H2Request extends H2RequestBase {
  /** The stream (for whoever needs the h2 specifics). */
  readonly h2stream: ServerHttp2Stream;

  constructor(stream: ServerHttp2Stream, raw: string[], endStream: boolean, ctx: H2RequestContext) {
    super(raw, endStream, ctx);
    this.h2stream = stream;
  }

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

  protected pump(onChunk: (chunk: Buffer) => void, done: (err: Error | null) => void): void {
    const src = this.h2stream;
    const declared = this.declared;
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
