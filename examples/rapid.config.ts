// The bundled example site as a module; the same configuration as rapid.xml, rapid.yaml and
// rapid.json. Run it: npx rapid --config examples/rapid.config.ts (Node 22.18+ strips the
// types itself; older Node needs the tsx package). See docs/config.md.
import { defineConfig } from 'rapid';

export default defineConfig({
  shutdownTimeout: '10s',
  listeners: [{ host: '127.0.0.1', port: 8080 }],
  keepAlive: { maxRequests: 1000, timeout: '75s' },
  limits: { maxBodyBytes: '1mb', headersTimeout: '20s' },
  compression: { codings: ['br', 'gzip'], minSize: '1kb', level: 6 },
  sites: [
    {
      name: 'localhost',
      default: true,
      root: './site',
      notFound: '404.html',
      aliases: ['127.0.0.1', '[::1]'],
      index: ['index.html', 'index.htm'],
      mimeTypes: { md: 'text/markdown' },
      cacheControl: [{ path: '/assets/*', value: 'public, max-age=3600' }],
      mounts: [{ path: '/files', root: './site/assets', listing: true }],
      handlers: [{ path: '/api', type: 'module', module: './api.mjs' }],
    },
  ],
});
