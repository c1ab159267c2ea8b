/**
 * `createRedirects(rules)`: answer requests whose path matches a rule with a redirect
 * (docs/rules.md). Rules are tried in order; the first match answers. Exact paths are found with
 * one map lookup whatever their number; regular expressions are tried in order before it.
 */
import { E } from '../../core/errors.js';
import { statusText } from '../../core/status.js';
import type { RapidRequest, RapidResponse } from '../../core/types.js';
import { compileFrom, compileTo, type CompiledFrom, type CompiledTo } from './target.js';
import { checkKeys, failWith, passOn, type Fail, type RuleNext } from '../access/common.js';

export interface RedirectRule {
  /** "^/old/(.*)$" (a regular expression on the encoded path) or "/exact/path". */
  from: string;
  /** "/new/$1", "https://example.com/$1"; the query is kept unless the target has one. */
  to: string;
  /** 301 (default), 302, 303, 307 or 308. */
  status?: number;
  /** Match letters in `from` case-insensitively (default false). */
  ignoreCase?: boolean;
}

export interface Redirects {
  (req: RapidRequest, res: RapidResponse, next?: RuleNext): void | Promise<void>;
  close(): void;
}

const STATUSES = new Set([301, 302, 303, 307, 308]);
const KEYS = new Set(['from', 'to', 'status', 'ignoreCase']);

interface Compiled {
  readonly index: number;
  readonly from: CompiledFrom;
  readonly to: CompiledTo;
  readonly status: number;
}

const fail: Fail = failWith(E.ACCESS_INVALID_REDIRECT);

export function createRedirects(rules: readonly RedirectRule[]): Redirects {
  if (!Array.isArray(rules)) fail('rules', 'must be an array');
  const exact = new Map<string, Compiled>();
  const patterns: Compiled[] = [];
  rules.forEach((rule, index) => {
    const what = `rules[${index}]`;
    if (rule === null || typeof rule !== 'object') fail(what, 'must be an object');
    checkKeys(rule, KEYS, what, fail);
    if (rule.ignoreCase !== undefined && typeof rule.ignoreCase !== 'boolean') {
      fail(`${what}.ignoreCase`, 'must be a boolean');
    }
    const from = compileFrom(rule.from, rule.ignoreCase === true);
    if (typeof from === 'string') fail(`${what}.from`, from);
    const to = compileTo(rule.to, from, true);
    if (typeof to === 'string') fail(`${what}.to`, to);
    const status = rule.status ?? 301;
    if (!STATUSES.has(status)) fail(`${what}.status`, 'must be 301, 302, 303, 307 or 308');
    const c: Compiled = { index, from, to, status };
    if (from.exact === null) patterns.push(c);
    else if (!exact.has(from.exact)) exact.set(from.exact, c);
  });

  const handler = (
    req: RapidRequest,
    res: RapidResponse,
    next?: RuleNext,
  ): void | Promise<void> => {
    const path = req.path;
    const hit = exact.size === 0 ? undefined : exact.get(path);
    const limit = hit === undefined ? Infinity : hit.index;
    for (let i = 0; i < patterns.length; i++) {
      const c = patterns[i] as Compiled;
      if (c.index > limit) break;
      const m = c.from.match(path);
      if (m !== null) return redirect(res, c, c.to.build(m, req.search));
    }
    if (hit !== undefined) return redirect(res, hit, hit.to.build([path], req.search));
    return passOn(res, next);
  };
  return Object.assign(handler, { close: () => {} });
}

function redirect(res: RapidResponse, c: Compiled, location: string): void {
  res.status(c.status);
  res.setHeader('Location', location);
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.send(`${statusText(c.status)}. Redirecting to ${location}\n`);
}
