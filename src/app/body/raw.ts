/**
 * Bodies as bytes: one Buffer, decoded from gzip/deflate/br when `inflate` is on (default), with
 * the size limit applied to what the handler receives.
 */
import type { RapidRequest } from '../../core/types.js';
import type { BodyParseContext, BodyParser } from '../types.js';
import { checkLimit } from './media.js';
import { readBody } from './read.js';

export interface RawOptions {
  /** Largest body in bytes (default: the app's bodyLimit, 1 MiB on its own). */
  limit?: number;
  /** Media types handled (default application/octet-stream). */
  types?: readonly string[];
  /** Decode gzip/deflate/br bodies (default true). */
  inflate?: boolean;
}

export const RAW_TYPES: readonly string[] = Object.freeze(['application/octet-stream']);

export function raw(options: RawOptions = {}): BodyParser {
  const limit = checkLimit('raw limit', options.limit);
  const inflate = options.inflate ?? true;
  const types = Object.freeze([...(options.types ?? RAW_TYPES)]);
  return {
    types,
    limit,
    async parse(req: RapidRequest, ctx: BodyParseContext): Promise<Buffer> {
      return readBody(req, limit ?? ctx.limit, inflate);
    },
  };
}
