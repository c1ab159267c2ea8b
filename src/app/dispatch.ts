/**
 * The path of one request through an application, from the native handler call to the response:
 *
 *   onRequest hooks -> site (Host) -> route lookup -> use() middleware -> preHandler hooks
 *   -> route handlers -> returned value sent -> onSend hooks -> engine -> onResponse hooks
 *
 * and, on any throw or rejection, onError hooks -> error handler -> error page.
 *
 * Hot path: a route with one handler in a scope without onRequest/preHandler hooks is one router
 * lookup, two wrapper objects and a direct call of the handler; no promise is created unless the
 * handler returns one. Every function here that returns a promise resolves it, never rejects:
 * errors are handled where they happen (fastify's model), so nothing escapes to the engine as an
 * unhandled rejection and `await next()` in middleware only waits, it never throws.
 */
import { E, RapidError, type ErrorSpec } from '../core/errors.js';
import type { RapidRequest, RapidResponse } from '../core/types.js';
import type { Params, RouteMatch } from '../router/types.js';
import { describeError, errorJson, prefersJson } from './errors.js';
import { AppRequestImpl, EMPTY_PARAMS } from './request.js';
import { AppResponseImpl } from './response.js';
import type { ChainFn, Entry, Scope, UseEntry } from './scope.js';
import type { AppHandler, Middleware, RequestHook } from './types.js';

const RESOLVED: Promise<void> = Promise.resolve();

/** The native handler body: wrap the request and response, then enter the root scope. */
export function handle(
  root: Scope,
  raw: RapidRequest,
  rawRes: RapidResponse,
): void | Promise<void> {
  const path = raw.path;
  const req = new AppRequestImpl(raw, root, path);
  const res = new AppResponseImpl(rawRes, req);
  return enter(root, req, res, path);
}

/** Enter an app (the root, a mounted app or a site) with the path relative to it. */
function enter(
  scope: Scope,
  req: AppRequestImpl,
  res: AppResponseImpl,
  path: string,
): void | Promise<void> {
  req.scope = scope;
  req.routePath = path;
  if (scope.onRequest !== null) return runOnRequest(scope, scope.onRequest, req, res, path);
  return pick(scope, req, res, path);
}

/** After the app's onRequest hooks: hand the request to a matching site, or route it here. */
function pick(
  scope: Scope,
  req: AppRequestImpl,
  res: AppResponseImpl,
  path: string,
): void | Promise<void> {
  if (scope.sites !== null) {
    const site = scope.sites.find(req.raw.host);
    if (site !== undefined) return enter(site, req, res, path);
  }
  return route(scope, req, res, path);
}

async function runOnRequest(
  scope: Scope,
  hooks: readonly RequestHook[],
  req: AppRequestImpl,
  res: AppResponseImpl,
  path: string,
): Promise<void> {
  try {
    for (let i = 0; i < hooks.length; i++) {
      const r = (hooks[i] as RequestHook)(req, res);
      if (isThenable(r)) await r;
      if (isDone(res)) return;
    }
  } catch (err) {
    return fail(req, res, err);
  }
  return pick(scope, req, res, path);
}

function route(
  scope: Scope,
  req: AppRequestImpl,
  res: AppResponseImpl,
  path: string,
): void | Promise<void> {
  const m = scope.router.find(req.method, path);
  if (m.kind !== 'found') return miss(scope, m, req, res, path);
  const entry = m.store;
  if (m.route.paramNames.length !== 0) {
    // Parameters of a mount prefix (/t/:tenant) stay visible below it.
    req.params =
      req.params === EMPTY_PARAMS
        ? m.params
        : (Object.assign(Object.create(null), req.params, m.params) as Params);
  }
  if (entry.mountIndex >= 0) {
    const child = scope.children[entry.mountIndex] as Scope;
    const rest = m.rest as string;
    if (entry.chain.length === 0) return enter(child, req, res, rest);
    return new ChainRun(entry.chain, -1, null, req, res, () => enter(child, req, res, rest)).step(
      0,
    );
  }
  req.routePattern = entry.pattern;
  const chain = entry.chain;
  if (chain.length === 1 && scope.preHandler === null) {
    // The fast path: one handler, no hooks before it.
    let r: unknown;
    try {
      r = (chain[0] as AppHandler)(req, res);
    } catch (err) {
      return fail(req, res, err);
    }
    if (r === undefined) return;
    return settle(r, req, res, true);
  }
  return new ChainRun(chain, entry.handlerStart, scope.preHandler, req, res, null).step(0);
}

/** No route took the request: 404, 405, OPTIONS, a trailing-slash redirect or a bad URL. */
function miss(
  scope: Scope,
  m: RouteMatch<Entry>,
  req: AppRequestImpl,
  res: AppResponseImpl,
  path: string,
): void | Promise<void> {
  let responder: AppHandler;
  switch (m.kind) {
    case 'bad-url':
      // RFC 3986 §2.1: a malformed escape cannot be routed, not even by prefix middleware.
      return fail(req, res, cheapError(E.ROUTER_BAD_URL));
    case 'not-found':
      responder = scope.notFound ?? notFound;
      break;
    case 'method-not-allowed': {
      const allow = m.allow;
      responder = (_req, r) => {
        r.setHeader('Allow', allow);
        throw cheapError(E.ROUTER_METHOD_NOT_ALLOWED);
      };
      break;
    }
    case 'options': {
      // RFC 9110 §9.3.7: an OPTIONS request no route takes is answered with what the path allows.
      const allow = m.allow;
      responder = (_req, r) => {
        r.setHeader('Allow', allow);
        r.status(204);
        r.send(null);
      };
      break;
    }
    case 'redirect': {
      // RFC 9110 §15.4.2/§15.4.9: 301 may turn a POST into a GET; 308 keeps the method and body.
      const status = req.method === 'GET' || req.method === 'HEAD' ? 301 : 308;
      const location = m.location + req.raw.search;
      responder = (_req, r) => r.redirect(location, status);
      break;
    }
    default:
      return fail(req, res, new Error('unexpected route result'));
  }
  const mws = scope.middleware;
  if (mws.length === 0) return callResponder(responder, req, res);
  let chain: ChainFn[] | null = null;
  for (let i = 0; i < mws.length; i++) {
    const u = mws[i] as UseEntry;
    if (prefixMatches(u.prefix, path, scope.caseSensitive)) (chain ??= []).push(u.fn);
  }
  if (chain === null) return callResponder(responder, req, res);
  chain.push(responder);
  return new ChainRun(chain, -1, null, req, res, null).step(0);
}

function callResponder(
  responder: AppHandler,
  req: AppRequestImpl,
  res: AppResponseImpl,
): void | Promise<void> {
  let r: unknown;
  try {
    r = responder(req, res);
  } catch (err) {
    return fail(req, res, err);
  }
  if (r === undefined) return;
  return settle(r, req, res, true);
}

function notFound(): never {
  throw cheapError(E.ROUTER_NOT_FOUND);
}

/** A catalog error without a captured stack: 404/405/400 floods from scanners stay cheap. */
function cheapError(spec: ErrorSpec): RapidError {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new RapidError(spec);
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** Does `path` start with `prefix` at a segment boundary? ('' matches everything.) */
export function prefixMatches(prefix: string, path: string, caseSensitive: boolean): boolean {
  const n = prefix.length;
  if (n === 0) return true;
  if (path.length < n) return false;
  if (path.length > n && path.charCodeAt(n) !== 0x2f) return false;
  if (caseSensitive) return path.startsWith(prefix);
  return path.slice(0, n).toLowerCase() === prefix;
}

/**
 * One run through a chain of middleware and handlers. `step(i)` calls function i, giving it a
 * `next` that runs i + 1; preHandler hooks run just before function `handlerStart`; `tail` (a
 * mount's way into its sub-app) runs after the last function. Allocated only for chains longer
 * than one function or when hooks are present.
 */
class ChainRun {
  private index = -1;

  constructor(
    private readonly chain: readonly ChainFn[],
    private readonly handlerStart: number,
    private readonly preHandler: readonly RequestHook[] | null,
    private readonly req: AppRequestImpl,
    private readonly res: AppResponseImpl,
    private readonly tail: (() => void | Promise<void>) | null,
  ) {}

  step(i: number): Promise<void> {
    const { req, res } = this;
    if (i <= this.index) return fail(req, res, new RapidError(E.APP_NEXT_CALLED_TWICE));
    this.index = i;
    // A response is out: nothing after the function that sent it runs (fastify's rule for hooks).
    if (isDone(res)) return RESOLVED;
    if (i === this.handlerStart && this.preHandler !== null) return this.preHandlers(i);
    return this.call(i);
  }

  private async preHandlers(i: number): Promise<void> {
    const { req, res } = this;
    const hooks = this.preHandler as readonly RequestHook[];
    try {
      for (let h = 0; h < hooks.length; h++) {
        const r = (hooks[h] as RequestHook)(req, res);
        if (isThenable(r)) await r;
        if (isDone(res)) return;
      }
    } catch (err) {
      return fail(req, res, err);
    }
    return this.call(i);
  }

  private call(i: number): Promise<void> {
    const { req, res, chain } = this;
    if (i >= chain.length) {
      if (this.tail === null) return RESOLVED;
      return this.tail() ?? RESOLVED;
    }
    const fn = chain[i] as ChainFn;
    const last = i === chain.length - 1 && this.tail === null;
    let r: unknown;
    try {
      r = last
        ? (fn as AppHandler)(req, res)
        : (fn as Middleware)(req, res, () => this.step(i + 1));
    } catch (err) {
      return fail(req, res, err);
    }
    if (r === undefined) return RESOLVED;
    return settle(r, req, res, last) ?? RESOLVED;
  }
}

function isThenable(r: unknown): r is PromiseLike<unknown> {
  return (
    r !== null &&
    (typeof r === 'object' || typeof r === 'function') &&
    typeof (r as PromiseLike<unknown>).then === 'function'
  );
}

/** The response is out or on its way (through the app or straight through `raw`). */
function isDone(res: AppResponseImpl): boolean {
  return res.sent || res.raw.headersSent || res.raw.finished;
}

/** A function returned `r` (not undefined): await it if it is a promise, then send its value. */
function settle(
  r: unknown,
  req: AppRequestImpl,
  res: AppResponseImpl,
  isHandler: boolean,
): void | Promise<void> {
  if (isThenable(r)) {
    return Promise.resolve(r).then(
      (v) => finishValue(v, req, res, isHandler),
      (err: unknown) => fail(req, res, err),
    );
  }
  return finishValue(r, req, res, false);
}

/**
 * Send what a function returned when nothing was sent yet. A route handler whose promise resolves
 * with undefined and has sent nothing gets an empty response (204, or the status it set), as in
 * Fastify; a function returning undefined synchronously is left alone: it may answer later from
 * a callback.
 */
function finishValue(
  v: unknown,
  req: AppRequestImpl,
  res: AppResponseImpl,
  asyncHandler: boolean,
): void | Promise<void> {
  if (isDone(res)) return;
  try {
    if (v === undefined) {
      if (asyncHandler) res.empty();
      return;
    }
    const p = res.sendValue(v);
    if (p !== undefined) return p.then(undefined, (err: unknown) => fail(req, res, err));
  } catch (err) {
    return fail(req, res, err);
  }
}

/** Called by the response when an onSend hook fails. */
export function sendFailed(req: AppRequestImpl, res: AppResponseImpl, err: unknown): void {
  void fail(req, res, err);
}

/** Handle an error; the promise never rejects. */
export function fail(req: AppRequestImpl, res: AppResponseImpl, err: unknown): Promise<void> {
  return handleError(req, res, err).then(undefined, (last: unknown) => {
    // The error handling itself failed (e.g. the socket is gone): report; answer if still possible.
    req.scope.settings.logError(last, req);
    if (!res.raw.headersSent && !res.raw.finished) {
      try {
        res.raw.status(500);
        res.raw.send(null);
      } catch {
        abort(res.raw);
      }
    } else if (!res.raw.finished) abort(res.raw);
  });
}

async function handleError(req: AppRequestImpl, res: AppResponseImpl, err: unknown): Promise<void> {
  const scope = req.scope;
  const settings = scope.settings;
  if (scope.onError !== null) {
    for (const hook of scope.onError) {
      try {
        const r = hook(err, req, res);
        if (isThenable(r)) await r;
      } catch (hookErr) {
        settings.logError(hookErr, req);
      }
      if (res.raw.headersSent || res.raw.finished) return;
    }
  }
  if (res.raw.headersSent || res.raw.finished) {
    // Mid-body (or after the end): the status is out; the only honest signal left is to cut the
    // connection when the body is incomplete, and to report.
    settings.logError(err, req);
    if (!res.raw.finished) abort(res.raw);
    return;
  }
  // A payload claimed but not yet written (a failing onSend hook or file sender) is replaced.
  res.sent = false;
  if (scope.errorHandler !== null) {
    try {
      const r = scope.errorHandler(err, req, res);
      const v = isThenable(r) ? await r : r;
      if (isDone(res)) return;
      if (v !== undefined) {
        await res.sendValue(v);
        return;
      }
    } catch (handlerErr) {
      // The error handler failed: render its error with the default page.
      err = handlerErr;
    }
    if (isDone(res)) return;
    res.sent = false;
  }
  renderError(req, res, err);
}

/** The default error page: JSON or text by Accept; headers of the failed response dropped. */
function renderError(req: AppRequestImpl, res: AppResponseImpl, err: unknown): void {
  const settings = req.scope.settings;
  const info = describeError(err, settings.production);
  if (info.status >= 500) settings.logError(err, req);
  const raw = res.raw;
  // What described the failed representation must not describe the error page.
  for (const name of DROP_ON_ERROR) if (raw.hasHeader(name)) raw.removeHeader(name);
  if (info.headers !== null) {
    for (const name of Object.keys(info.headers)) {
      raw.setHeader(name, info.headers[name] as string);
    }
  }
  raw.status(info.status);
  if (prefersJson(req.raw.header('accept'))) {
    raw.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.send(errorJson(info));
  } else {
    raw.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.send(`${info.message}\n`);
  }
}

const DROP_ON_ERROR = [
  'content-type',
  'content-disposition',
  'content-encoding',
  'content-language',
  'content-range',
  'etag',
  'last-modified',
];

/** Cut the connection of a response that cannot be completed (H1Response.abort). */
function abort(raw: RapidResponse): void {
  const a = (raw as { abort?: () => void }).abort;
  if (typeof a === 'function') a.call(raw);
}
