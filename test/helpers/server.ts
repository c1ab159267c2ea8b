/**
 * Start a Rapid server for a socket test on 127.0.0.1, port 0, closed when the test (or the file)
 * ends. Handler failures are collected in `errors` instead of being printed.
 */
import { after, type TestContext } from 'node:test';
import type { Handler, Limits, RapidRequest, UpgradeHandler } from '../../src/core/types.js';
import { serve, type RapidServer } from '../../src/server/server.js';

export interface TestServer {
  server: RapidServer;
  port: number;
  /** http://127.0.0.1:<port> */
  origin: string;
  /** Errors reported to onError, with the request they belong to. */
  errors: { err: unknown; req: RapidRequest | null }[];
  close(timeoutMs?: number): Promise<void>;
}

export async function startServer(
  handler: Handler,
  opts: {
    limits?: Partial<Limits>;
    onUpgrade?: UpgradeHandler;
    onError?: (err: unknown, req: RapidRequest | null) => void;
    /** Register the close on this test instead of the file. */
    t?: TestContext;
  } = {},
): Promise<TestServer> {
  const errors: TestServer['errors'] = [];
  const server = await serve({
    port: 0,
    host: '127.0.0.1',
    handler,
    limits: opts.limits,
    onUpgrade: opts.onUpgrade,
    onError: (err, req) => {
      errors.push({ err, req });
      opts.onError?.(err, req);
    },
  });
  const close = (timeoutMs?: number): Promise<void> => server.close(timeoutMs);
  if (opts.t !== undefined) opts.t.after(() => close(1000));
  else after(() => close(1000));
  return { server, port: server.port, origin: `http://127.0.0.1:${server.port}`, errors, close };
}
