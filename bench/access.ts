/**
 * What access rules and header rules cost per request, in-process (one command):
 *     flock /tmp/rapid-bench.lock taskset -c 0 npm run bench:access [-- --label name --no-write]
 * Cases: IP list checks (3 entries, 10,000 entries, a mapped address), the canonical path, the
 * access handler deciding a request (no rule matches / an IP rule / Basic auth on a cache hit),
 * the response head with no hook, a site-wide and a path header rule, and one bcrypt check
 * (cost 10, on the worker thread). Writes bench/results/<date>-<label>.md and .json.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { RapidRequest, RapidResponse } from '../src/core/types.js';
import { createAccessControl } from '../src/features/access/access.js';
import { verifyPassword, parseHtpasswd, type UserEntry } from '../src/features/access/htpasswd.js';
import { IpMatcher } from '../src/features/access/ip.js';
import { canonicalPath } from '../src/features/access/paths.js';
import { createHeaderRules } from '../src/features/rules/headers.js';
import { H1Response, type ResponseSink } from '../src/http1/response.js';
import { findPackageRoot } from '../src/util/package-root.js';
import {
  DEFAULT_HARNESS,
  formatNs,
  formatResults,
  Suite,
  type CaseResult,
} from './micro/harness.js';

const { values } = parseArgs({
  options: {
    label: { type: 'string', default: 'access' },
    'no-write': { type: 'boolean', default: false },
  },
});

let written = 0;
const sink: ResponseSink = {
  write(_res, piece) {
    written += piece.length;
  },
  finish() {},
  blocked: () => false,
  closed: false,
  waitDrain: () => Promise.resolve(),
  abort() {},
};

/** A request as the access handler sees it (only the fields it reads). */
function fakeRequest(path: string, remoteAddress: string, authorization?: string): RapidRequest {
  return {
    method: 'GET',
    path,
    remoteAddress,
    header: (n: string) => (n === 'authorization' ? authorization : undefined),
  } as unknown as RapidRequest;
}

let seed = 99;
const rnd = (n: number): number => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed % n;
};
const small = new IpMatcher(['10.0.0.0/8', '192.168.0.0/16', '::1'], []);
const big = new IpMatcher(
  Array.from({ length: 10_000 }, () => `${1 + rnd(222)}.${rnd(256)}.${rnd(256)}.0/24`),
  [],
);

const dir = mkdtempSync(join(tmpdir(), 'rapid-bench-access-'));
const file = join(dir, 'users.htpasswd');
execFileSync('htpasswd', ['-cbB', '-C', '10', file, 'alice', 'secret'], { stdio: 'ignore' });
const auth = `Basic ${Buffer.from('alice:secret').toString('base64')}`;
const access = createAccessControl(
  [
    { path: '/admin', allow: ['10.0.0.0/8'] },
    { path: '/members', auth: { realm: 'M', htpasswd: file } },
  ],
  { reloadInterval: 60_000 },
);
const noop = (): void => {};
const stubRes = {} as RapidResponse;
// Prime the credential cache (the first check runs bcrypt).
await access(fakeRequest('/members', '127.0.0.1', auth), stubRes, noop);

const siteRules = createHeaderRules([
  { set: { 'X-Content-Type-Options': 'nosniff', 'X-Frame-Options': 'DENY' } },
]);
const pathRules = createHeaderRules([
  { set: { 'X-Content-Type-Options': 'nosniff' } },
  { path: '/assets/*', set: { 'Cache-Control': 'public, max-age=31536000' }, remove: ['ETag'] },
]);
const plain = fakeRequest('/index.html', '127.0.0.1');
const asset = fakeRequest('/assets/app.js', '127.0.0.1');

function respond(rules: typeof siteRules | null, req: RapidRequest): number {
  const res = new H1Response(sink, null, true);
  const send = (): void => {
    res.setHeader('Content-Type', 'text/plain');
    res.send('Hello, World!');
  };
  if (rules === null) send();
  else void rules(req, res, send);
  return written;
}

const suite = new Suite('access')
  .add('IpMatcher: 3 entries, IPv4', () => small.allows('10.1.2.3'))
  .add('IpMatcher: 10,000 /24s, IPv4', () => big.allows('77.1.2.3'))
  .add('IpMatcher: 3 entries, mapped ::ffff:10.1.2.3', () => small.allows('::ffff:10.1.2.3'))
  .add('canonicalPath: plain /a/b/c.html', () => canonicalPath('/a/b/c.html', true))
  .add('canonicalPath: encoded /a/%62/c%20d.html', () => canonicalPath('/a/%62/c%20d.html', true))
  .add('access: no rule matches (/index.html)', () => access(plain, stubRes, noop))
  .add('access: IP rule allows (/admin from 10.1.2.3)', () =>
    access(fakeRequest('/admin/x', '10.1.2.3'), stubRes, noop),
  )
  .add('access: Basic auth, cached credentials', () =>
    access(fakeRequest('/members/x', '127.0.0.1', auth), stubRes, noop),
  )
  .add('response head: no header rules', () => respond(null, plain))
  .add('response head: site-wide rule (2 set)', () => respond(siteRules, plain))
  .add('response head: path rules, /assets match', () => respond(pathRules, asset))
  .add('response head: path rules, no path match', () => respond(pathRules, plain));
const results: CaseResult[] = suite.run(DEFAULT_HARNESS);

// One bcrypt check at cost 10 on the worker thread: median of 5, sequential.
const entry = [
  ...parseHtpasswd(execFileSync('cat', [file], { encoding: 'utf8' })).users.values(),
][0] as UserEntry;
const times: number[] = [];
for (let i = 0; i < 5; i++) {
  const t0 = process.hrtime.bigint();
  await verifyPassword(entry, Buffer.from('secret'));
  times.push(Number(process.hrtime.bigint() - t0));
}
times.sort((a, b) => a - b);
results.push({
  suite: 'access',
  name: 'bcrypt cost 10 on the worker thread (uncached)',
  ns: times[2] as number,
  min: times[0] as number,
  max: times[4] as number,
  iterations: 5,
});
access.close();
rmSync(dir, { recursive: true, force: true });

const table = formatResults(results);
console.log(`Node ${process.version}`);
console.log(table);
if (values['no-write'] !== true) {
  const root = findPackageRoot(import.meta.url);
  const date = new Date().toISOString().slice(0, 10);
  const base = join(root, 'bench', 'results', `${date}-${values.label}`);
  const md = [
    `# Access and header rules: cost per request (${date})`,
    '',
    `Node ${process.version}; \`flock /tmp/rapid-bench.lock taskset -c 0 npm run bench:access\``,
    `(bench/access.ts: the micro harness, median of ${DEFAULT_HARNESS.runs} runs of ~${DEFAULT_HARNESS.runMs} ms per case).`,
    '',
    '| case | time/op | min – max |',
    '| ---- | ------: | --------: |',
    ...results.map(
      (r) => `| ${r.name} | ${formatNs(r.ns)} | ${formatNs(r.min)} – ${formatNs(r.max)} |`,
    ),
    '',
  ].join('\n');
  writeFileSync(`${base}.md`, md);
  writeFileSync(`${base}.json`, `${JSON.stringify({ node: process.version, results }, null, 2)}\n`);
  console.log(`wrote ${base}.md and .json`);
}
