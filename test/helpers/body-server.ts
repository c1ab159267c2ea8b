/**
 * A test server whose handler parses the body with one body parser (through `parseWith`, the
 * app's 415 rule) and answers `{ value }` as JSON, or a failed parse as `{ code }` with the
 * error's status, so body-parser tests can assert on both over a real socket.
 */
import type { TestContext } from 'node:test';
import { parseWith } from '../../src/app/body/media.js';
import type { BodyParser } from '../../src/app/types.js';
import { RapidError } from '../../src/core/errors.js';
import type { Limits } from '../../src/core/types.js';
import { startServer, type TestServer } from './server.js';

export interface BodyReply {
  status: number;
  value?: unknown;
  code?: string;
  message?: string;
}

export async function bodyServer(
  t: TestContext,
  parser: BodyParser,
  opts: { limit?: number; limits?: Partial<Limits>; map?: (v: unknown) => unknown } = {},
): Promise<TestServer & { post: (init: RequestInit & { path?: string }) => Promise<BodyReply> }> {
  const s = await startServer(
    async (req, res) => {
      try {
        const value = await parseWith(req, parser, opts.limit);
        res.json({ value: opts.map === undefined ? value : await opts.map(value) });
      } catch (err) {
        if (!(err instanceof RapidError)) throw err;
        res.status(err.statusCode).json({ code: err.code, message: err.message });
      }
    },
    { t, limits: opts.limits },
  );
  const post = async (init: RequestInit & { path?: string }): Promise<BodyReply> => {
    const r = await fetch(`${s.origin}${init.path ?? '/'}`, { method: 'POST', ...init });
    const body = (await r.json()) as Omit<BodyReply, 'status'>;
    return { status: r.status, ...body };
  };
  return Object.assign(s, { post });
}
