/**
 * Rapid's benchmark app: `npm run bench:serve` (PORT, default 8080; HOST, default 127.0.0.1).
 * One process, the routes as TechEmpower defines them, so any load generator can be pointed at it:
 *   GET /plaintext  "Hello, World!" as text/plain
 *   GET /json       {"message":"Hello, World!"}, serialized per request
 * with Server and Date headers (the engine adds Date and Content-Length); anything else is 404.
 */
import { serve } from '../src/server/server.js';
import type { RapidRequest, RapidResponse } from '../src/core/types.js';

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? '127.0.0.1';

function handler(req: RapidRequest, res: RapidResponse): void {
  res.setHeader('Server', 'Rapid');
  if (req.method === 'GET') {
    if (req.path === '/plaintext') {
      res.setHeader('Content-Type', 'text/plain');
      res.send('Hello, World!');
      return;
    }
    if (req.path === '/json') {
      res.json({ message: 'Hello, World!' });
      return;
    }
  }
  res.status(404).setHeader('Content-Type', 'text/plain');
  res.send('Not Found');
}

const server = await serve({ port, host, handler });
console.log(`Rapid bench app listening on http://${host}:${server.port}`);

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    void server.close(2000).then(() => process.exit(0));
  });
}
