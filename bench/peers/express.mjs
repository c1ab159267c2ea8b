// Express peer (bench/package.json): no middleware, etag and x-powered-by off (as TechEmpower's
// express entry does), so it sends the same headers as the others.
import express from 'express';
import { join } from 'node:path';

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? '127.0.0.1';

const app = express();
app.disable('etag');
app.disable('x-powered-by');
app.get('/plaintext', (_req, res) => {
  res.set('Server', 'express').type('text/plain').send('Hello, World!');
});
app.get('/json', (_req, res) => {
  res.set('Server', 'express').json({ message: 'Hello, World!' });
});
// Static files through express.static (serve-static), Express's own answer for them.
if (process.env.STATIC_ROOT !== undefined) {
  app.use('/static', express.static(join(process.env.STATIC_ROOT, 'static')));
}
const server = app.listen(port, host, () => {
  console.log(`express listening on http://${host}:${port}`);
});
server.keepAliveTimeout = 75_000;
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => server.close(() => process.exit(0)));
