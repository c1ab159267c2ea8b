// A small Rapid application: routes, middleware, hooks, a mounted sub-app, a virtual host,
// typed errors and cookies. Build first (`npm run build`), then:
//
//   node examples/app.mjs            # listens on http://127.0.0.1:3000
//   curl -i localhost:3000/users/42
//   curl -i localhost:3000/api/v1/health -H 'accept: text/plain'
//   curl -i localhost:3000/nope
//   curl -i localhost:3000/ -H 'host: docs.localhost'
import { createApp, httpErrors, serve } from '../dist/src/index.js';

const app = createApp({
  cookieSecret: process.env.COOKIE_SECRET ?? 'change me',
  trustProxy: 'loopback',
});

// Hooks: onRequest runs first for every request (sites included), onResponse once it is out.
app.onRequest((req) => {
  req.locals.start = process.hrtime.bigint();
});
app.onResponse((req, res) => {
  const ms = Number(process.hrtime.bigint() - req.locals.start) / 1e6;
  console.log(`${req.hostname} ${req.method} ${req.url} ${res.statusCode} ${ms.toFixed(2)} ms`);
});

// Middleware: runs for requests under its prefix (404s included), around the rest of the chain.
app.use('/api', async (req, res, next) => {
  res.setHeader('Cache-Control', 'no-store');
  await next();
});

// A hook: stamp every whole response.
app.onSend((_req, res) => {
  res.setHeader('X-Powered-By', 'Rapid');
});

const users = new Map([['42', { id: '42', name: 'Ada' }]]);

app.get('/', (req, res) => {
  const visits = Number(req.signedCookies.visits ?? 0) + 1;
  res.cookie('visits', String(visits), { signed: true, httpOnly: true, sameSite: 'lax' });
  return `Hello from ${req.ip} (visit ${visits})\n`;
});

// Returned objects are sent as JSON; thrown HttpErrors become 4xx/5xx pages.
app.get('/users/:id(\\d+)', (req) => {
  const user = users.get(req.params.id);
  if (user === undefined) throw httpErrors.notFound(`no user ${req.params.id}`);
  return user;
});

app.get('/search', (req) => ({ query: req.query }));

app.get('/old-home', (_req, res) => res.redirect('/', 301));

// A sub-app mounted at a stem: it sees paths relative to /api/v1.
const api = createApp();
api.get('/health', () => ({ ok: true, uptime: process.uptime() }));
app.mount('/api/v1', api);

// A virtual host with its own routes.
const docs = createApp();
docs.get('/', () => 'Documentation site\n');
app.site(['docs.localhost', 'docs.127.0.0.1.nip.io'], docs);

const server = await serve({
  port: Number(process.env.PORT ?? 3000),
  host: '127.0.0.1',
  handler: app.handler,
});
console.log(`listening on http://127.0.0.1:${server.port}`);
process.once('SIGINT', () => void server.close());
process.once('SIGTERM', () => void server.close());
