// PHP through php-fpm, static files for everything else, one Rapid server.
//   php-fpm8.2 -F -R -y examples/php/php-fpm.conf &      (or any php-fpm on 127.0.0.1:9000)
//   npm run build && node examples/php/server.mjs        (PORT=8080, FPM=127.0.0.1:9000)
import { fileURLToPath } from 'node:url';
import { createFastCgiHandler, serve } from '../../dist/src/index.js';
import { createStaticHandler } from '../../dist/src/features/static/index.js';

const root = fileURLToPath(new URL('./www', import.meta.url));
const php = createFastCgiHandler({ address: process.env.FPM ?? '127.0.0.1:9000', root });
const files = createStaticHandler({ root });

const server = await serve({
  port: Number(process.env.PORT ?? 8080),
  host: process.env.HOST ?? '127.0.0.1',
  // *.php and directories with an index.php go to php-fpm; anything else falls through.
  handler: (req, res) => php(req, res, () => files(req, res)),
});
console.log(`PHP on Rapid: http://127.0.0.1:${server.port}/`);

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, async () => {
    await server.close();
    php.close();
    files.close();
  });
}
