/**
 * The server side of bench/access-e2e.ts: the bench app's /plaintext behind one of the site
 * set-ups (VARIANT: plain, access, headers, site), on 127.0.0.1:PORT.
 *   plain    the handler alone
 *   access   access rules: an auth rule for /admin (not taken) and `allow: ['loopback']` site-wide
 *   headers  two header rules: site-wide set of 2 fields, and a path rule for /assets (no match)
 *   site     headers + 5 redirects + 2 rewrites (none match) + the access rules, chained
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Handler, RapidRequest, RapidResponse } from '../src/core/types.js';
import { createAccessControl } from '../src/features/access/index.js';
import { createHeaderRules, createRedirects, createRewrites } from '../src/features/rules/index.js';
import { serve } from '../src/server/server.js';

type Feature = (
  req: RapidRequest,
  res: RapidResponse,
  next?: () => void | Promise<void>,
) => unknown;

const plaintext: Handler = (req, res) => {
  res.setHeader('Server', 'Rapid');
  res.setHeader('Content-Type', 'text/plain');
  res.send(req.path === '/plaintext' ? 'Hello, World!' : 'other');
};

function chain(features: Feature[], last: Handler): Handler {
  return (req, res) => {
    const step = (i: number): void | Promise<void> =>
      i === features.length ? last(req, res) : (features[i]!(req, res, () => step(i + 1)) as void);
    return step(0);
  };
}

const dir = mkdtempSync(join(tmpdir(), 'rapid-bench-site-'));
writeFileSync(join(dir, 'admins.htpasswd'), 'root:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=\n');
const access = (): Feature =>
  createAccessControl(
    [
      { path: '/admin', auth: { realm: 'Admin', htpasswd: 'admins.htpasswd' } },
      { allow: ['loopback'] },
    ],
    { baseDir: dir },
  );
const headers = (): Feature =>
  createHeaderRules([
    { set: { 'X-Content-Type-Options': 'nosniff', 'X-Frame-Options': 'DENY' } },
    { path: '/assets/*', set: { 'Cache-Control': 'public, max-age=31536000, immutable' } },
  ]);
const variants: Record<string, () => Feature[]> = {
  plain: () => [],
  access: () => [access()],
  headers: () => [headers()],
  site: () => [
    headers(),
    createRedirects([
      { from: '^/old/(.*)$', to: '/new/$1', status: 301 },
      { from: '^/blog/(\\d+)/(.*)$', to: '/posts/$1/$2' },
      { from: '/home', to: '/' },
      { from: '/moved', to: 'https://example.com/' },
      { from: '^/u/([^/]+)$', to: '/users/$1' },
    ]),
    createRewrites([
      { from: '^/p/(\\d+)$', to: '/index.php?page=$1' },
      { from: '/feed', to: '/feed.xml' },
    ]),
    access(),
  ],
};

const variant = process.env.VARIANT ?? 'plain';
const make = variants[variant];
if (make === undefined) throw new Error(`unknown VARIANT ${variant}`);
const server = await serve({
  port: Number(process.env.PORT ?? 8080),
  host: '127.0.0.1',
  handler: chain(make(), plaintext),
});
console.log(`${variant} listening on ${server.port}`);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => void server.close(2000).then(() => process.exit(0)));
}
