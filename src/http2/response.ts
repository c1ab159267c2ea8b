/**
 * The HTTP/2 response: RapidResponse on a ServerHttp2Stream with stream.respond() (no compat
 * layer). Framing is HTTP/2's, so there is no chunked coding or Connection header: a whole
 * response is one HEADERS frame (with content-length) and its DATA, a streamed one is HEADERS
 * then DATA as written. Connection-specific fields (Connection, Keep-Alive, Proxy-Connection,
 * Transfer-Encoding, Upgrade; RFC 9113 §8.2.2) set by a handler are dropped, never sent.
 */
import type { OutgoingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import http2 from 'node:http2';
import type { Readable } from 'node:stream';
import { E, RapidError } from '../core/errors.js';
import { ResponseFields } from '../core/headers.js';
import { statusHasNoBody } from '../core/status.js';
import type { PreparedResponse, RapidResponse } from '../core/types.js';
import type { H2Request } from './request.js';

/** What the response tells its session. */
export interface H2ResponseOwner {
  /** Every byte of the response has been handed to the stream. */
  finish(res: H2Response): void;
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

const RESPOND_END = Object.freeze({ endStream: true });
const RESPOND_OPEN = Object.freeze({ endStream: false });

/** PreparedResponse header blocks turned into h2 header objects, once per prepared response. */
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

function addField(h: OutgoingHttpHeaders, key: string, value: string): void {
  const prev = h[key];
  if (prev === undefined) h[key] = value;
  else if (Array.isArray(prev)) prev.push(value);
  else h[key] = [String(prev), value];
}

export class H2Response extends ResponseFields implements RapidResponse {
  finished = false;
  /** Every byte has been handed to the stream. */
  done = false;
  /** The server reset the stream (the body could not be completed). */
  aborted = false;
  /** Deadline (coarse clock ms) for the handler to finish; 0 = none. Kept by the session. */
  deadline = 0;

  readonly req: H2Request;
  private readonly h2: ServerHttp2Stream;
  private readonly owner: H2ResponseOwner;
  private readonly isHead: boolean;
  private streaming = false;

  constructor(req: H2Request, owner: H2ResponseOwner) {
    super();
    this.req = req;
    this.h2 = req.h2stream;
    this.owner = owner;
    this.isHead = req.method === 'HEAD';
  }

  /** True once the stream cannot carry more (reset, closed, session gone). */
  get gone(): boolean {
    return this.h2.destroyed || this.h2.closed;
  }

  /** The header object for respond(); `length` >= 0 adds content-length. */
  private head(length: number, prepared: PreparedResponse | null): OutgoingHttpHeaders {
    let fields = prepared === null ? null : preparedFields(prepared);
    if (this.headHooks !== null) {
      const block = prepared === null ? '' : prepared.headerBlock;
      const changed = this.runHeadHooks(block);
      if (changed !== block) fields = blockFields(changed);
    }
    const code = this.statusCode;
    const h: OutgoingHttpHeaders = { ':status': code };
    if (fields !== null) for (const [k, v] of fields) addField(h, k, v);
    const hl = this.headers;
    if (hl !== null) {
      const f = hl.fields;
      for (let i = 0; i < f.length; i += 3) {
        const key = f[i] as string;
        if (CONNECTION_SPECIFIC.has(key)) {
          // A handler's own content-length is kept for a streamed body (it is the length the
          // client may check); a whole body's length is always computed.
          if (key === 'content-length' && length === -1) h[key] = f[i + 2];
          continue;
        }
        addField(h, key, f[i + 2] as string);
      }
    }
    if (length >= 0 && code >= 200 && code !== 204 && code !== 304) h['content-length'] = length;
    this.headersSent = true;
    return h;
  }

  private claimFinish(): void {
    if (this.finished) throw new RapidError(E.RESPONSE_ALREADY_SENT);
    this.finished = true;
  }

  send(body?: string | Uint8Array | null): void {
    this.claimFinish();
    this.sendWhole(body ?? null, null);
  }

  private sendWhole(body: string | Uint8Array | null, prepared: PreparedResponse | null): void {
    if (this.gone) {
      this.headersSent = true;
      this.finishNow();
      return;
    }
    const data = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    const len = data === null ? 0 : data.byteLength;
    const h = this.head(len, prepared);
    const stream = this.h2;
    if (len === 0 || this.isHead || statusHasNoBody(this.statusCode)) {
      stream.respond(h, RESPOND_END);
    } else {
      stream.respond(h, RESPOND_OPEN);
      stream.end(data);
    }
    this.finishNow();
  }

  private finishNow(): void {
    this.done = true;
    this.req.responded = true;
    this.owner.finish(this);
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

  private sendsBody(): boolean {
    return !this.isHead && !statusHasNoBody(this.statusCode);
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
    return this.h2.write(chunk);
  }

  end(chunk?: string | Uint8Array | null): void {
    if (!this.streaming) {
      this.send(chunk);
      return;
    }
    if (chunk !== undefined && chunk !== null) this.write(chunk);
    this.claimFinish();
    if (!this.gone && this.sendsBody()) this.h2.end();
    this.finishNow();
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

  /** The body cannot be completed: reset the stream so the client sees the failure. */
  abort(): void {
    this.finished = true;
    this.aborted = true;
    if (!this.gone) this.h2.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    if (!this.done) this.finishNow();
  }
}
