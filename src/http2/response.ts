/**
 * The HTTP/2 response on node:http2: RapidResponse on a ServerHttp2Stream with stream.respond()
 * (no compat layer). The head building and finishing are H2ResponseBase's
 * (src/http2/response-base.ts); here the head becomes a node:http2 header object and the body
 * goes to the stream.
 */
import type { OutgoingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import http2 from 'node:http2';
import { E, RapidError } from '../core/errors.js';
import { statusHasNoBody } from '../core/status.js';
import type { PreparedResponse } from '../core/types.js';
import type { H2Request } from './request.js';
import { H2ResponseBase, type HeadSink } from './response-base.js';

export { blockFields, CONNECTION_SPECIFIC, preparedFields } from './response-base.js';

/** What the response tells its session. */
export interface H2ResponseOwner {
  /** Every byte of the response has been handed to the stream. */
  finish(res: H2Response): void;
}

const RESPOND_END = Object.freeze({ endStream: true });
const RESPOND_OPEN = Object.freeze({ endStream: false });

const NO_HEADERS: OutgoingHttpHeaders = Object.freeze({});

/** Builds respond()'s header object; one for all responses (a head is built synchronously). */
class HeadObject implements HeadSink {
  h = NO_HEADERS;

  beginHead(status: number): void {
    this.h = { ':status': status };
  }

  headField(key: string, value: string): void {
    const h = this.h;
    const prev = h[key];
    if (prev === undefined) h[key] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else h[key] = [String(prev), value];
  }

  headLength(length: number): void {
    this.h['content-length'] = length;
  }
}
const headObject = new HeadObject();

export class H2Response extends H2ResponseBase {
  declare readonly req: H2Request;
  private readonly h2: ServerHttp2Stream;
  private readonly owner: H2ResponseOwner;
  /** Body bytes handed to the stream (streamed ones counted only while observed: seq > 0). */
  bodyBytes = 0;
  /** performance.now() when the stream's head arrived; set only when a ResponseObserver is on. */
  startMs = 0;
  /** The stream's number on its session (1, 2, …); set only when a ResponseObserver is on. */
  seq = 0;

  constructor(req: H2Request, owner: H2ResponseOwner) {
    super();
    this.init(req);
    this.h2 = req.h2stream;
    this.owner = owner;
  }

  get gone(): boolean {
    return this.h2.destroyed || this.h2.closed;
  }

  /** The header object for respond(); `length` >= 0 adds content-length. */
  private head(length: number, prepared: PreparedResponse | null): OutgoingHttpHeaders {
    this.putHead(headObject, length, prepared, false);
    const h = headObject.h;
    headObject.h = NO_HEADERS;
    return h;
  }

  protected respondWhole(
    body: string | Uint8Array | null,
    prepared: PreparedResponse | null,
  ): void {
    const data = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    const len = data === null ? 0 : data.byteLength;
    const h = this.head(len, prepared);
    const stream = this.h2;
    if (len === 0 || this.isHead || statusHasNoBody(this.statusCode)) {
      stream.respond(h, RESPOND_END);
    } else {
      stream.respond(h, RESPOND_OPEN);
      stream.end(data);
      this.bodyBytes = len;
    }
  }

  protected finishedAll(): void {
    this.owner.finish(this);
  }

  write(chunk: string | Uint8Array): boolean {
    if (this.finished) throw new RapidError(E.RESPONSE_ALREADY_SENT);
    if (!this.streaming) {
      this.streaming = true;
      const h = this.head(-1, null);
      if (this.gone) return false;
      this.h2.respond(h, this.sendsBody() ? RESPOND_OPEN : RESPOND_END);
    }
    if (this.gone) return false;
    if (!this.sendsBody()) return true;
    const len = typeof chunk === 'string' ? chunk.length : chunk.byteLength;
    if (len === 0) return !this.h2.writableNeedDrain;
    if (this.seq !== 0)
      this.bodyBytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : len;
    return this.h2.write(chunk);
  }

  protected endBody(): void {
    this.h2.end();
  }

  drain(): Promise<void> {
    const s = this.h2;
    if (this.gone || !s.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        s.off('drain', done);
        s.off('close', done);
        resolve();
      };
      s.on('drain', done);
      s.on('close', done);
    });
  }

  abort(): void {
    this.finished = true;
    this.aborted = true;
    if (!this.gone) this.h2.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    if (!this.done) this.finishNow();
  }
}
