// Rapid in front of another server, for bench/interop.sh. MODE=fastcgi: the FastCGI handler to
// php-fpm at FPM (ROOT is the document root); MODE=proxy: the reverse proxy to UPSTREAM.
// RAPID_DIST points at another build of Rapid (default ../../dist, `npm run build`).
const dist = process.env.RAPID_DIST ?? new URL('../../dist', import.meta.url).pathname;
const { serve, createFastCgiHandler, createProxyHandler } = await import(`${dist}/src/index.js`);
const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? '127.0.0.1';
const handler =
  process.env.MODE === 'proxy'
    ? createProxyHandler({ upstream: process.env.UPSTREAM ?? 'http://127.0.0.1:9001' })
    : createFastCgiHandler({
        address: process.env.FPM ?? '127.0.0.1:9000',
        root: process.env.ROOT ?? '.',
        maxConnections: Number(process.env.FCGI_CONNECTIONS ?? 8),
      });
const server = await serve({ port, host, handler });
console.log(`rapid-interop (${process.env.MODE ?? 'fastcgi'}) on http://${host}:${server.port}`);
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () =>
    server
      .close()
      .then(() => handler.close())
      .then(() => process.exit(0)),
  );
}
