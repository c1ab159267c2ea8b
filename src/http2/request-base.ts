/**
 * What the two HTTP/2 request classes share: H2Request (node:http2 streams, src/http2/request.ts)
 * and H2StreamRequest (Rapid's own engine, src/http2/stream.ts) map the decoded header list onto
 * RapidRequest the same way, and read the body through the same size checks. Each engine only
 * brings how body chunks arrive (`pump`) and when the request counts as aborted (`signal`).
 *
 * Pseudo-headers become method/url/host; the other fields are the header list (names already
 * lowercase on h2). A `host` field is added from `:authority` when the client sent none, so code
 * reading `headers.host` works on both protocols.
 */
import type { Readable } from 'node:stream';
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

const EMPTY = Buffer.alloc(0);

/** The error for a body that has reached `got` bytes, or null while it is within bounds. */
export function bodyOverrun(got: number, limit: number, declared: number): RapidError | null {
  if (got > limit) return new RapidError(E.BODY_TOO_LARGE, `more than ${limit} bytes`);
  if (declared >= 0 && got > declared) {
    return new RapidError(E.HTTP2_BODY_LENGTH_MISMATCH, `more than ${declared} bytes`);
  }
  return null;
}

/** The error for a body that ended after `got` bytes, or null when that is what was declared. */
export function bodyShort(got: number, declared: number): RapidError | null {
  if (declared >= 0 && got !== declared) {
    return new RapidError(E.HTTP2_BODY_LENGTH_MISMATCH, `${got} of ${declared} bytes sent`);
  }
  return null;
}

export abstract class H2RequestBase implements RapidRequest {
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
  trailers: string[] = [];
  /** True once the whole body has arrived (or there is none). */
  complete: boolean;
  /** Set when the response is complete; a later close is no abort. */
  responded = false;
  /** The declared content-length (-1: none). */
  readonly declared: number;

  protected readonly maxBodyBytes: number;
  protected controller: AbortController | null = null;
  private _headers: Record<string, string> | undefined = undefined;
  private used = false;

  constructor(raw: string[], endStream: boolean, ctx: H2RequestContext) {
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
    this.declared = Number.isSafeInteger(length) && length >= 0 ? length : -1;
    this.contentLength = endStream ? 0 : this.declared;
  }

  header(name: string): string | undefined {
    return headerOf(this.rawHeaders, name);
  }

  get headers(): Readonly<Record<string, string>> {
    return (this._headers ??= headersObject(this.rawHeaders));
  }

  /** Aborted when the client resets the stream or the connection goes before the response is
   * done (the fetch adapter listens to it). */
  abstract get signal(): AbortSignal;

  protected claim(): void {
    if (this.used) throw new RapidError(E.BODY_ALREADY_READ);
    this.used = true;
  }

  body(): Promise<Buffer> {
    try {
      this.claim();
    } catch (err) {
      return Promise.reject(err as Error);
    }
    if (!this.hasBody) return Promise.resolve(EMPTY);
    const chunks: Buffer[] = [];
    let size = 0;
    return new Promise<Buffer>((resolve, reject) => {
      this.pump(
        (chunk) => {
          chunks.push(chunk);
          size += chunk.length;
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

  abstract stream(): Readable;

  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    return this.stream()[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  /**
   * Deliver the body to `onChunk` with the size checks (bodyOverrun/bodyShort, maxBodyBytes);
   * `done` is called once, with null at the end of a body of the right size, or with the error.
   */
  protected abstract pump(
    onChunk: (chunk: Buffer) => void,
    done: (err: Error | null) => void,
  ): void;
}
