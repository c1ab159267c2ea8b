/**
 * `createRewrites(rules)`: internal rewrites (docs/rules.md). A matching rule changes the
 * request's `path` and `search` in place and the request goes on to `next` as the new path: the
 * handlers after it (the router, static files, FastCGI, fetch apps) see the rewritten target.
 * `req.url` keeps the target as received (what nginx calls $request_uri, and what FastCGI's
 * REQUEST_URI carries), so front controllers still see the address the client asked for.
 *
 * Rules are tried in order on the path as it is at that point; `last` (default true) stops at the
 * first rule that matches, `last: false` goes on with the following rules and the new path. A
 * request can be rewritten at most MAX_REWRITES times in all (several rewrite handlers in a chain,
 * or a chain that runs again), so a loop ends in a 500 instead of spinning.
 */
import { E } from '../../core/errors.js';
import type { RapidRequest, RapidResponse } from '../../core/types.js';
import { checkKeys, failWith, passOn, refuse, type Fail, type RuleNext } from '../access/common.js';
import { compileFrom, compileTo, type CompiledFrom, type CompiledTo } from './target.js';

export interface RewriteRule {
  /** "^/blog/(\\d+)$" (a regular expression on the encoded path) or "/exact/path". */
  from: string;
  /** "/index.php?post=$1": a path on this site; the query is kept unless the target has one. */
  to: string;
  /** Stop after this rule when it matches (default true). */
  last?: boolean;
  /** Match letters in `from` case-insensitively (default false). */
  ignoreCase?: boolean;
}

export interface Rewrites {
  (req: RapidRequest, res: RapidResponse, next?: RuleNext): void | Promise<void>;
  close(): void;
}

/** Rewrites of one request, in all, before it is answered with RAPID_ERR_ACCESS_REWRITE_LOOP. */
export const MAX_REWRITES = 10;

const KEYS = new Set(['from', 'to', 'last', 'ignoreCase']);
const fail: Fail = failWith(E.ACCESS_INVALID_REWRITE);

interface Compiled {
  readonly from: CompiledFrom;
  readonly to: CompiledTo;
  readonly last: boolean;
}

/** How often each request was rewritten (keyed by the native request). */
const counts = new WeakMap<object, number>();

/** The native request under an app's request, or the request itself. */
function nativeOf(req: RapidRequest): object {
  const raw = (req as { raw?: unknown }).raw;
  return typeof raw === 'object' && raw !== null ? raw : req;
}

/**
 * Point `req` at a new path and query ("" or "?…"), for everything that reads it from now on.
 * Own properties shadow the protocol's lazy getters; on an app's request the native request
 * underneath changes too. `url` is left as received.
 */
export function rewriteTarget(req: RapidRequest, path: string, search: string): void {
  const native = nativeOf(req);
  for (const o of native === req ? [req] : [req, native]) {
    Object.defineProperty(o, 'path', { value: path, writable: true, configurable: true });
    Object.defineProperty(o, 'search', { value: search, writable: true, configurable: true });
  }
}

export function createRewrites(rules: readonly RewriteRule[]): Rewrites {
  if (!Array.isArray(rules)) fail('rules', 'must be an array');
  const compiled = rules.map((rule, index): Compiled => {
    const what = `rules[${index}]`;
    if (rule === null || typeof rule !== 'object') fail(what, 'must be an object');
    checkKeys(rule, KEYS, what, fail);
    for (const k of ['last', 'ignoreCase'] as const) {
      if (rule[k] !== undefined && typeof rule[k] !== 'boolean') {
        fail(`${what}.${k}`, 'must be a boolean');
      }
    }
    const from = compileFrom(rule.from, rule.ignoreCase === true);
    if (typeof from === 'string') fail(`${what}.from`, from);
    const to = compileTo(rule.to, from, false);
    if (typeof to === 'string') fail(`${what}.to`, to);
    return { from, to, last: rule.last ?? true };
  });

  const handler = (
    req: RapidRequest,
    res: RapidResponse,
    next?: RuleNext,
  ): void | Promise<void> => {
    let path = req.path;
    let search = req.search;
    let changed = false;
    for (let i = 0; i < compiled.length; i++) {
      const c = compiled[i] as Compiled;
      const m = c.from.match(path);
      if (m === null) continue;
      const target = c.to.build(m, search);
      const q = target.indexOf('?');
      path = q === -1 ? target : target.slice(0, q);
      search = q === -1 ? '' : target.slice(q);
      if (search === '?') search = '';
      const native = nativeOf(req);
      const n = (counts.get(native) ?? 0) + 1;
      counts.set(native, n);
      if (n > MAX_REWRITES) return refuse(res, E.ACCESS_REWRITE_LOOP);
      changed = true;
      if (c.last) break;
    }
    if (changed) rewriteTarget(req, path, search);
    return passOn(res, next);
  };
  return Object.assign(handler, { close: () => {} });
}
