/**
 * text/* bodies as a string, decoded by the Content-Type charset (default UTF-8, RFC 9110
 * §8.3.1 leaves the default to the media type: text/plain has no charset default any more since
 * RFC 6657, and UTF-8 is what clients send). A leading BOM is dropped. An unknown charset is a 415.
 */
import type { RapidRequest } from '../../core/types.js';
import type { BodyParseContext, BodyParser } from '../types.js';
import { decoderForCharset } from './charset.js';
import { checkLimit } from './media.js';
import { readBody } from './read.js';

export interface TextOptions {
  /** Largest body in bytes (default: the app's bodyLimit, 1 MiB on its own). */
  limit?: number;
  /** Charset when the Content-Type names none (default 'utf-8'). */
  defaultCharset?: string;
  /** Media types handled (default text/plain). */
  types?: readonly string[];
  /** Decode gzip/deflate/br bodies (default true). */
  inflate?: boolean;
}

export const TEXT_TYPES: readonly string[] = Object.freeze(['text/plain']);

export function text(options: TextOptions = {}): BodyParser {
  const limit = checkLimit('text limit', options.limit);
  const defaultCharset = (options.defaultCharset ?? 'utf-8').toLowerCase();
  // Fail at start-up for a default the runtime cannot decode.
  decoderForCharset(defaultCharset);
  const inflate = options.inflate ?? true;
  const types = Object.freeze([...(options.types ?? TEXT_TYPES)]);
  return {
    types,
    limit,
    async parse(req: RapidRequest, ctx: BodyParseContext): Promise<string> {
      // Resolve the decoder before reading: an unsupported charset is refused unread.
      const decode = decoderForCharset(ctx.charset === '' ? defaultCharset : ctx.charset);
      return decode(await readBody(req, limit ?? ctx.limit, inflate));
    },
  };
}
