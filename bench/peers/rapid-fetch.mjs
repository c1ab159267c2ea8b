// The same Hono app (bench/peers/hono-app.mjs) on Rapid's fetch-handler mode: serve({ fetch }).
// RAPID_DIST points at another build of Rapid (default ../../dist, `npm run build`).
import { createHonoApp } from './hono-app.mjs';

const dist = process.env.RAPID_DIST ?? new URL('../../dist', import.meta.url).pathname;
const { serve } = await import(`${dist}/src/index.js`);
const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? '127.0.0.1';
const app = createHonoApp('rapid');
const server = await serve({ port, host, fetch: app.fetch });
console.log(`rapid-fetch listening on http://${host}:${server.port}`);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => server.close().then(() => process.exit(0)));
}
