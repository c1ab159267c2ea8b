// The Hono app both fetch-mode peers serve (bench/fetch-vs-hono.sh): plaintext, JSON, a route
// parameter, a header read, so the comparison covers routing and the Request's headers too.
import { Hono } from 'hono';

export function createHonoApp(server) {
  const app = new Hono();
  app.get('/plaintext', (c) => {
    c.header('Server', server);
    return c.text('Hello, World!');
  });
  app.get('/json', (c) => {
    c.header('Server', server);
    return c.json({ message: 'Hello, World!' });
  });
  app.get('/user/:id', (c) => {
    c.header('Server', server);
    return c.json({ id: c.req.param('id'), agent: c.req.header('user-agent') ?? null });
  });
  return app;
}
