// A Hono app, unchanged, served by Rapid's fetch-handler mode.
//   npm run build && node examples/hono/server.mjs      (PORT=3000 by default)
import { Hono } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { HTTPException } from 'hono/http-exception';
import { streamSSE } from 'hono/streaming';
import { serve } from '../../dist/src/index.js';

const app = new Hono();

app.get('/', (c) =>
  c.html(`<!doctype html><title>Hono on Rapid</title>
<h1>Hono on Rapid</h1>
<ul>
  <li><a href="/hello/world">/hello/:name</a> (route parameter)</li>
  <li><a href="/api/todos">/api/todos</a> (JSON; POST one with curl, see README)</li>
  <li><a href="/visits">/visits</a> (cookies)</li>
  <li><a href="/clock">/clock</a> (server-sent events; stops when you close the tab)</li>
  <li><a href="/private">/private</a> (an HTTPException)</li>
</ul>`),
);

app.get('/hello/:name', (c) => c.text(`Hello, ${c.req.param('name')}!`));

const todos = [{ id: 1, title: 'Serve Hono on Rapid', done: true }];
app.get('/api/todos', (c) => c.json(todos));
app.post('/api/todos', async (c) => {
  const body = await c.req.json().catch(() => null);
  if (body === null || typeof body.title !== 'string' || body.title.length === 0) {
    throw new HTTPException(400, { message: 'expected {"title": "..."}' });
  }
  const todo = { id: todos.length + 1, title: body.title.slice(0, 200), done: false };
  todos.push(todo);
  return c.json(todo, 201);
});

app.get('/visits', (c) => {
  const visits = Number(getCookie(c, 'visits') ?? '0') + 1;
  setCookie(c, 'visits', String(visits), { path: '/', httpOnly: true, sameSite: 'Lax' });
  setCookie(c, 'last', new Date().toISOString(), { path: '/', sameSite: 'Lax' });
  return c.text(`Visit number ${visits}`);
});

app.get('/clock', (c) =>
  streamSSE(c, async (stream) => {
    let open = true;
    stream.onAbort(() => {
      open = false;
    });
    while (open) {
      await stream.writeSSE({ event: 'time', data: new Date().toISOString() });
      await stream.sleep(1000);
    }
  }),
);

app.get('/private', () => {
  throw new HTTPException(401, { message: 'Sign in first' });
});

app.onError((err, c) => {
  if (err instanceof HTTPException) return err.getResponse();
  console.error(err);
  return c.text('Internal Server Error', 500);
});

const port = Number(process.env.PORT ?? 3000);
const server = await serve({ port, host: process.env.HOST ?? '127.0.0.1', fetch: app.fetch });
console.log(`Hono on Rapid: http://127.0.0.1:${server.port}/`);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => server.close().then(() => process.exit(0)));
}
