// Fastify peer (bench/package.json): logger off (the default), routes as TechEmpower's fastify
// entry writes them. The JSON route returns an object so Fastify serializes it per request.
import Fastify from 'fastify';
import fastifyStatic from '@fastify/static';
import { join } from 'node:path';

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? '127.0.0.1';

const app = Fastify({ logger: false, keepAliveTimeout: 75_000 });
app.get('/plaintext', (_req, reply) => {
  reply.header('Server', 'fastify').header('Content-Type', 'text/plain').send('Hello, World!');
});
app.get('/json', (_req, reply) => {
  reply.header('Server', 'fastify').send({ message: 'Hello, World!' });
});
// Static files through @fastify/static, Fastify's own plugin for them.
if (process.env.STATIC_ROOT !== undefined) {
  await app.register(fastifyStatic, {
    root: join(process.env.STATIC_ROOT, 'static'),
    prefix: '/static/',
  });
}
await app.listen({ port, host });
console.log(`fastify listening on http://${host}:${port}`);
for (const sig of ['SIGINT', 'SIGTERM'])
  process.on(sig, () => app.close().then(() => process.exit(0)));
