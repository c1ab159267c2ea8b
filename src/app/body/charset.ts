/**
 * Decoding body bytes by charset. UTF-8 (the default everywhere) goes through Buffer#toString,
 * the fastest decoder in Node; every other label through a cached WHATWG TextDecoder (Node's ICU
 * knows the Encoding Standard's labels: latin1/iso-8859-1 mean windows-1252 there, as in browsers).
 * A label TextDecoder does not know is a 415 (RAPID_ERR_BODY_UNSUPPORTED_CHARSET).
 */
import { TextDecoder } from 'node:util';
import { E, RapidError } from '../../core/errors.js';

export type Decode = (buf: Buffer) => string;

const cache = new Map<string, Decode>();

/** UTF-8 without a leading byte order mark (the BOM is not content; RFC 3629 §6). */
export const decodeUtf8: Decode = (buf) =>
  buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf
    ? buf.toString('utf8', 3)
    : buf.toString('utf8');

/** The decoder for a lowercase charset label; throws a 415 RapidError for an unknown one. */
export function decoderForCharset(charset: string): Decode {
  if (charset === '' || charset === 'utf-8' || charset === 'utf8') return decodeUtf8;
  let d = cache.get(charset);
  if (d === undefined) {
    let td: TextDecoder;
    try {
      // Not fatal: malformed sequences become U+FFFD, as a browser would show them. The BOM of
      // the charset (UTF-16) is stripped by default.
      td = new TextDecoder(charset);
    } catch {
      throw new RapidError(E.BODY_UNSUPPORTED_CHARSET, charset);
    }
    d = (buf) => td.decode(buf);
    // Bounded: labels come from clients, and only known ones (a few hundred at most) get here.
    cache.set(charset, d);
  }
  return d;
}
