/**
 * Reading a request body under a byte limit, shared by the json, urlencoded, text and raw
 * parsers (multipart streams instead).
 *
 * - A Content-Length over the limit is refused before a byte is read (413).
 * - A body of known length within the limit is collected by the engine in one piece
 *   (`req.body()`: no stream object, one Buffer for a body that arrived in one read).
 * - A chunked body is streamed and counted; the parse fails as soon as the count passes the
 *   limit, without buffering the rest.
 * - `Content-Encoding: gzip | x-gzip | deflate | br` is decoded (RFC 9110 §8.4) when `inflate` is
 *   on; the limit then bounds the decoded bytes, so a small compressed bomb cannot expand past it.
 *   Any other coding is a 415 (RFC 9110 §15.5.16).
 */
import type { Readable, Transform } from 'node:stream';
import zlib from 'node:zlib';
import { E, RapidError } from '../../core/errors.js';
import type { RapidRequest } from '../../core/types.js';

const EMPTY = Buffer.alloc(0);

/** Read the whole body (decoded) into one Buffer, or reject with a catalog error. */
export function readBody(req: RapidRequest, limit: number, inflate: boolean): Promise<Buffer> {
  try {
    return readBodyUnsafe(req, limit, inflate);
  } catch (err) {
    // req.stream() throws when the body was already consumed
    return Promise.reject(err as Error);
  }
}

function readBodyUnsafe(req: RapidRequest, limit: number, inflate: boolean): Promise<Buffer> {
  if (!req.hasBody) return Promise.resolve(EMPTY);
  const coding = req.header('content-encoding');
  if (coding === undefined || isIdentity(coding)) {
    const length = req.contentLength;
    if (length > limit) return Promise.reject(tooLarge(limit, length));
    if (length >= 0) return req.body();
    return collect(req.stream(), null, limit);
  }
  const decoder = decoderFor(coding, inflate);
  const source = req.stream();
  source.pipe(decoder);
  return collect(source, decoder, limit);
}

function isIdentity(coding: string): boolean {
  const c = coding.trim().toLowerCase();
  return c === '' || c === 'identity';
}

/** A decoder for one content coding; several codings stacked are not accepted (415). */
export function decoderFor(coding: string, inflate: boolean): Transform {
  const c = coding.trim().toLowerCase();
  if (inflate) {
    switch (c) {
      case 'gzip':
      case 'x-gzip': // RFC 9110 §8.4.1.3: x-gzip is an alias of gzip
        return zlib.createGunzip();
      case 'deflate':
        return zlib.createInflate();
      case 'br':
        return zlib.createBrotliDecompress();
    }
  }
  throw new RapidError(E.BODY_UNSUPPORTED_ENCODING, c);
}

export function tooLarge(limit: number, got: number): RapidError {
  return new RapidError(E.BODY_TOO_LARGE, `${got} bytes or more, limit ${limit}`);
}

/**
 * Stop consuming a request body we no longer want, without destroying it: the engine then keeps
 * reading (and dropping) the rest, so a keep-alive connection stays in step with the client. The
 * engine's own limits (maxBodyBytes, bodyTimeout) still bound how much is read.
 */
export function drainAway(source: Readable): void {
  source.removeAllListeners('data');
  source.removeAllListeners('end');
  source.removeAllListeners('error');
  source.unpipe();
  source.on('error', noop);
  source.resume();
}

function noop(): void {}

/**
 * Collect `source` (or, when given, the decoder it is piped into) up to `limit` bytes. `source`
 * is the request stream; its errors (client gone, body timeout, framing) reject as they are.
 */
function collect(source: Readable, decoder: Transform | null, limit: number): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const out: Readable = decoder ?? source;
    const chunks: Buffer[] = [];
    let total = 0;
    let settled = false;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      if (decoder !== null) {
        decoder.removeAllListeners('data');
        decoder.on('error', noop);
        decoder.destroy();
      }
      drainAway(source);
      reject(err);
    };
    out.on('data', (chunk: Buffer) => {
      if (settled) return;
      total += chunk.length;
      if (total > limit) {
        fail(tooLarge(limit, total));
        return;
      }
      chunks.push(chunk);
    });
    out.on('end', () => {
      if (settled) return;
      settled = true;
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total));
    });
    if (decoder !== null) {
      decoder.on('error', (err) =>
        fail(new RapidError(E.BODY_INVALID_ENCODING, err.message, { cause: err })),
      );
      // The request stream's own failure (abort, timeout) is the real cause, not the decoder's.
      source.on('error', (err) => fail(err));
    } else {
      source.on('error', (err) => fail(err));
    }
  });
}
