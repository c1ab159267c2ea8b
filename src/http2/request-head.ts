/**
 * What the two HTTP/2 request classes share: H2Request (node:http2 streams, src/http2/request.ts)
 * and H2StreamRequest (Rapid's own engine, src/http2/stream.ts) map the decoded header list onto
 * RapidRequest the same way (initRequest) and read a whole body through the same size checks
 * (readBody, bodyOverrun, bodyShort). Each engine brings how body chunks arrive (`pump`) and when
 * the request counts as aborted (`signal`).
 *
 * Shared as functions, not a base class: on Node 20 a subclass (of any class, even an empty one)
 * constructs these ~20-field objects ~10 ns slower than a standalone class (measured with
 * bench/micro/h2.bench.ts), and one is constructed per stream.
 *
 * Pseudo-headers become method/url/host; the other fields are the header list (names already
 * lowercase on h2). A `host` field is added from `:authority` when the client sent none, so code
 * reading `headers.host` works on both protocols.
 */
import { E, RapidError } from '../core/errors.js';

/** What the request needs from its session. */
export interface H2RequestContext {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly secure: boolean;
  readonly maxBodyBytes: number;
}

/** The fields initRequest() sets; each request class declares them (`!`: set by it). */
export interface H2RequestHead {
  method: string;
  url: string;
  path: string;
  search: string;
  rawHeaders: string[];
  host: string;
  remoteAddress: string;
  remotePort: number;
  secure: boolean;
  contentLength: number;
  hasBody: boolean;
  complete: boolean;
  maxBodyBytes: number;
}

/**
 * Fill a request's head fields from the stream's decoded header list; called by constructors.
 * Returns the declared content-length (-1: none or not a length), also when the stream ended.
 */
export function initRequest(
  req: H2RequestHead,
  raw: string[],
  endStream: boolean,
  ctx: H2RequestContext,
): number {
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
  req.method = method;
  req.url = path;
  const q = path.indexOf('?');
  req.path = q === -1 ? path : path.slice(0, q);
  req.search = q === -1 ? '' : path.slice(q);
  req.rawHeaders = fields;
  req.host = authority;
  req.remoteAddress = ctx.remoteAddress;
  req.remotePort = ctx.remotePort;
  req.secure = ctx.secure;
  req.maxBodyBytes = ctx.maxBodyBytes;
  req.hasBody = !endStream;
  req.complete = endStream;
  const declared = Number.isSafeInteger(length) && length >= 0 ? length : -1;
  req.contentLength = endStream ? 0 : declared;
  return declared;
}

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

/** A request whose body can be pumped (see H2Request.pump, H2StreamRequest.pump). */
export interface BodySource {
  readonly hasBody: boolean;
  /** Throws RAPID_ERR_BODY_ALREADY_READ on a second read. */
  claim(): void;
  /** Deliver the body to `onChunk` with the size checks; `done` once, null at a good end. */
  pump(onChunk: (chunk: Buffer) => void, done: (err: Error | null) => void): void;
}

const EMPTY = Buffer.alloc(0);

/** RapidRequest.body() for both engines. */
export function readBody(req: BodySource): Promise<Buffer> {
  try {
    req.claim();
  } catch (err) {
    return Promise.reject(err as Error);
  }
  if (!req.hasBody) return Promise.resolve(EMPTY);
  const chunks: Buffer[] = [];
  let size = 0;
  return new Promise<Buffer>((resolve, reject) => {
    req.pump(
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
