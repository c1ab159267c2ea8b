/** A server for the access-log tests, closed (which flushes and closes its logs) after `fn`. */
import { serve, type ServeOptions } from '../../src/server/server.js';

/** `opts` over a default handler: /fail throws, anything else is "hello" as text/plain. */
export async function withServer(
  opts: Partial<ServeOptions>,
  fn: (port: number) => Promise<void>,
): Promise<void> {
  const server = await serve({
    port: 0,
    host: '127.0.0.1',
    handler(req, res) {
      if (req.path === '/fail') throw new Error('boom');
      res.setHeader('Content-Type', 'text/plain');
      res.send('hello');
    },
    ...opts,
  });
  try {
    await fn(server.port);
  } finally {
    await server.close(5000);
  }
}
