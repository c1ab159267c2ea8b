/**
 * What the two HTTP/2 response classes share: H2Response (node:http2 streams,
 * src/http2/response.ts) and H2StreamResponse (Rapid's own engine, src/http2/stream.ts) build
 * the head the same way and finish the same way; each engine only brings where the head's fields
 * go (a node:http2 header object or an HPACK block), how body bytes are sent, and how a stream
 * is reset.
 *
 * Framing is HTTP/2's, so there is no chunked coding or Connection header: a whole response is
 * one HEADERS frame (with content-length) and its DATA, a streamed one is HEADERS then DATA as
 * written. Connection-specific fields (Connection, Keep-Alive, Proxy-Connection,
 * Transfer-Encoding, Upgrade; RFC 9113 §8.2.2) set by a handler are dropped, never sent.
 */
import type { Readable } from 'node:stream';
import { E, RapidError } from '../core/errors.js';
import { ResponseFields } from '../core/headers.js';
import { statusHasNoBody } from '../core/status.js';
import type { PreparedResponse, RapidResponse } from '../core/types.js';

/** What a response needs of its request. */
export interface H2ResponseRequest {
  readonly method: string;
  /** Set when the response is complete; a later close is no abort. */
  responded: boolean;
}

const JSON_TYPE = 'application/json; charset=utf-8';

/** Never sent on HTTP/2 (RFC 9113 §8.2.2); Node would refuse the whole response. */
export const CONNECTION_SPECIFIC: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'content-length',
  'http2-settings',
]);

/** PreparedResponse header blocks turned into h2 fields, once per prepared response. */
const preparedHeaders = new WeakMap<PreparedResponse, [string, string][]>();

/** The fields of an HTTP/1.1-style header block, without connection-specific ones and Date. */
export function blockFields(block: string): [string, string][] {
  const fields: [string, string][] = [];
  for (const line of block.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const key = line.slice(0, colon).trim().toLowerCase();
    if (CONNECTION_SPECIFIC.has(key) || key === 'date') continue;
    fields.push([key, line.slice(colon + 1).trim()]);
  }
  return fields;
}

export function preparedFields(prepared: PreparedResponse): [string, string][] {
  let fields = preparedHeaders.get(prepared);
  if (fields === undefined) {
    fields = blockFields(prepared.headerBlock);
    preparedHeaders.set(prepared, fields);
  }
  return fields;
}

/** Where a head's fields go: an HPACK block (the own engine's connection) or a header object. */
export interface HeadSink {
  /** The head starts: `:status`. */
  beginHead(status: number): void;
  /** One field (lowercase name). */
  headField(name: string, value: string): void;
  /** content-length of a whole body. */
  headLength(length: number): void;
}

/**
 * No constructor and no field initializers here (init() sets the fields; each subclass
 * constructor calls it right after super()): V8 then skips this class's default constructor
 * (omit-default-ctors), and the subclasses construct as fast as when they extended
 * ResponseFields directly (bench/micro/h2.bench.ts; a constructor here costs per stream).
 */
export abstract class H2ResponseBase extends ResponseFields implements RapidResponse {
  declare finished: boolean;
  /** Every byte has been handed to the stream. */
  declare done: boolean;
  /** The server reset the stream (the body could not be completed). */
  declare aborted: boolean;
  /** Deadline (coarse clock ms) for the handler to finish; 0 = none. Kept by the session. */
  declare deadline: number;

  declare readonly req: H2ResponseRequest;
  declare protected isHead: boolean;
  declare protected streaming: boolean;

  protected init(req: H2ResponseRequest): void {
    this.finished = false;
    this.done = false;
    this.aborted = false;
    this.deadline = 0;
    (this as { req: H2ResponseRequest }).req = req;
    this.isHead = req.method === 'HEAD';
    this.streaming = false;
  }

  /** True once the stream cannot carry more (reset, closed, connection gone). */
  abstract get gone(): boolean;

  /** Send a whole response (head and body) on a stream that is not gone. */
  protected abstract respondWhole(
    data: string | Uint8Array | null,
    prepared: PreparedResponse | null,
  ): void;
  /** End a streamed body (the stream is not gone and the response has one). */
  protected abstract endBody(): void;
  /** Tell the owner every byte of the response has been handed over. */
  protected abstract finishedAll(): void;

  abstract write(chunk: string | Uint8Array): boolean;
  abstract drain(): Promise<void>;
  /** The body cannot be completed: reset the stream so the client sees the failure. */
  abstract abort(): void;

  /**
   * Give the head to `out`: :status, the prepared response's fields (after the head hooks), the
   * handler's fields without connection-specific ones (and without Date when `ownDate`: the
   * sink writes its own), and content-length (`length` >= 0: a whole body's, always computed;
   * -1: a streamed body, where a handler's own content-length is kept, it is the length the
   * client may check).
   */
  protected putHead(
    out: HeadSink,
    length: number,
    prepared: PreparedResponse | null,
    ownDate: boolean,
  ): void {
    let fields = prepared === null ? null : preparedFields(prepared);
    if (this.headHooks !== null) {
      const block = prepared === null ? '' : prepared.headerBlock;
      const changed = this.runHeadHooks(block);
      if (changed !== block) fields = blockFields(changed);
    }
    const code = this.statusCode;
    out.beginHead(code);
    if (fields !== null) for (const [k, v] of fields) out.headField(k, v);
    const hl = this.headers;
    let ownLength: string | null = null;
    if (hl !== null) {
      const f = hl.fields;
      for (let i = 0; i < f.length; i += 3) {
        const key = f[i] as string;
        if (CONNECTION_SPECIFIC.has(key)) {
          if (key === 'content-length' && length === -1) ownLength = f[i + 2] as string;
          continue;
        }
        if (ownDate && key === 'date') continue;
        out.headField(key, f[i + 2] as string);
      }
    }
    if (length >= 0 && code >= 200 && code !== 204 && code !== 304) out.headLength(length);
    else if (ownLength !== null) out.headField('content-length', ownLength);
    this.headersSent = true;
  }

  /** True when the response carries a body (not HEAD, not 1xx/204/304). */
  protected sendsBody(): boolean {
    return !this.isHead && !statusHasNoBody(this.statusCode);
  }

  protected claimFinish(): void {
    if (this.finished) throw new RapidError(E.RESPONSE_ALREADY_SENT);
    this.finished = true;
  }

  protected finishNow(): void {
    this.done = true;
    this.req.responded = true;
    this.finishedAll();
  }

  private sendWhole(body: string | Uint8Array | null, prepared: PreparedResponse | null): void {
    if (this.gone) {
      this.headersSent = true;
      this.finishNow();
      return;
    }
    this.respondWhole(body, prepared);
    this.finishNow();
  }

  send(body?: string | Uint8Array | null): void {
    this.claimFinish();
    this.sendWhole(body ?? null, null);
  }

  json(value: unknown): void {
    if (this.headers === null || !this.headers.has('content-type')) {
      this.setHeader('Content-Type', JSON_TYPE);
    }
    this.send(JSON.stringify(value));
  }

  sendPrepared(prepared: PreparedResponse): void {
    this.claimFinish();
    this.statusCode = prepared.status;
    this.sendWhole(prepared.body, prepared);
  }

  /** A catalog error as the whole response (handler failures, timeouts). */
  sendError(status: number, message: string): void {
    if (this.headers !== null) this.headers.clear();
    this.statusCode = status;
    this.setHeader('Content-Type', 'text/plain; charset=utf-8');
    this.send(`${message}\n`);
  }

  end(chunk?: string | Uint8Array | null): void {
    if (!this.streaming) {
      this.send(chunk);
      return;
    }
    if (chunk !== undefined && chunk !== null) this.write(chunk);
    this.claimFinish();
    if (!this.gone && this.sendsBody()) this.endBody();
    this.finishNow();
  }

  async stream(source: Readable | AsyncIterable<string | Uint8Array>): Promise<void> {
    const destroy = (source as Readable).destroy;
    try {
      for await (const chunk of source as AsyncIterable<string | Uint8Array>) {
        if (this.gone) break;
        if (!this.write(chunk)) await this.drain();
        if (this.gone) break;
      }
    } catch (err) {
      if (!this.headersSent && !this.gone) throw err;
      this.abort();
      throw err;
    } finally {
      if (this.gone && typeof destroy === 'function') (source as Readable).destroy();
    }
    if (!this.finished) {
      if (this.gone) this.abort();
      else this.end();
    }
  }
}
