/**
 * `createApp()`: routes, middleware, hooks, sub-apps and virtual hosts, compiled into a native
 * `Handler` for `serve({ handler: app.handler })`.
 *
 * Registration validates eagerly and throws (bad paths, conflicts, bad host names fail at start-up,
 * never on a request). Everything that can be decided before the first request is decided once, in
 * `ready()` (called by the first request if not before): each route's middleware chain, each
 * scope's inherited hooks (null when empty), settings with their defaults. After that the app is
 * frozen: registering more throws RAPID_ERR_APP_ALREADY_READY.
 */
import { E, RapidError } from '../core/errors.js';
import type { Handler, RapidRequest, RapidResponse } from '../core/types.js';
import { createRouter } from '../router/radix.js';
import { ANY_METHOD, type RouteInfo, type Router, type RouterOptions } from '../router/types.js';
import { HostMatcher } from '../router/vhost.js';
import { handle, prefixMatches } from './dispatch.js';
import { compileTrust, type TrustProxy } from './proxy.js';
import { encodeUrl } from './response.js';
import { MAX_QUERY_PAIRS } from './query.js';
import { Entry, joinHooks, Scope, type ChainFn, type Settings, type UseEntry } from './scope.js';
import type {
  AppHandler,
  BodyParser,
  ErrorHandler,
  ErrorHook,
  FileSender,
  HookName,
  Middleware,
  RequestHook,
  SendHook,
} from './types.js';

/** A route's functions: optional route middleware, then the handler. */
export type RouteHandlers = [...Middleware[], AppHandler];

export interface AppOptions {
  /** Route matching of static text (default true). See docs/router.md. */
  caseSensitive?: boolean;
  /** 'strict' (default), 'ignore' or 'redirect' (301 for GET/HEAD, 308 otherwise). */
  trailingSlash?: RouterOptions['trailingSlash'];
  /** Longest route parameter value (default 1024). */
  maxParamLength?: number;
  /** Which proxies to believe for req.ip/ips/protocol/hostname (default false). */
  trustProxy?: TrustProxy;
  /** Secret(s) for signed cookies: the first signs, all verify (rotation). */
  cookieSecret?: string | readonly string[];
  /** Hide messages of unexposed (5xx) errors (default: NODE_ENV === 'production'). */
  production?: boolean;
  /** Parsers for req.parseBody(), first match by Content-Type wins. */
  bodyParsers?: readonly BodyParser[];
  /** Default body limit handed to parsers, in bytes (default 1 MiB). */
  bodyLimit?: number;
  /** The file sender behind res.sendFile() (the app layer cannot import src/features). */
  sendFile?: FileSender;
  /** Most query pairs parsed per request (default 1000). */
  queryLimit?: number;
  /** Where errors that reach no client go: 5xx errors, failures in onResponse/onError hooks,
   * errors after the response was sent (default: console.error). */
  logError?: (err: unknown, req: RapidRequest) => void;
}

/** Names and aliases of a virtual host; `default` also makes it the site for unknown hosts. */
export interface SiteOptions {
  names: string | readonly string[];
  aliases?: string | readonly string[];
  default?: boolean;
}

type Hooks = {
  onRequest: RequestHook[];
  preHandler: RequestHook[];
  onSend: SendHook[];
  onResponse: RequestHook[];
  onError: ErrorHook[];
};

const HOOK_NAMES: readonly HookName[] = [
  'onRequest',
  'preHandler',
  'onSend',
  'onResponse',
  'onError',
];

function defaultLogError(err: unknown, req: RapidRequest): void {
  console.error(`rapid app: ${req.method} ${req.url}:`, err);
}

function checkFn(fn: unknown, what: string): void {
  if (typeof fn !== 'function') {
    throw new RapidError(E.APP_INVALID_HANDLER, `${what} is ${fn === null ? 'null' : typeof fn}`);
  }
}

/** A use()/mount prefix: starts with "/", no trailing slash ("/" becomes ""), wire-encoded. */
function normalizePrefix(prefix: string, allowParams: boolean): string {
  if (typeof prefix !== 'string' || prefix.charCodeAt(0) !== 0x2f) {
    throw new RapidError(E.APP_INVALID_PREFIX, `${JSON.stringify(prefix)} must start with "/"`);
  }
  if (/[?#\s]/.test(prefix) || (!allowParams && /[:*]/.test(prefix))) {
    throw new RapidError(
      E.APP_INVALID_PREFIX,
      `${JSON.stringify(prefix)}: a middleware prefix is static text (no "?", "#", ":", "*", spaces)`,
    );
  }
  let p = prefix;
  while (p.length > 1 && p.endsWith('/')) p = p.slice(0, -1);
  return p === '/' ? '' : encodeUrl(p);
}

const ALWAYS = 0;
const NEVER = 1;
const MAYBE = 2;

/**
 * Whether use() middleware with `prefix` applies to every request a route (or mount) takes,
 * none, or only some (decided per request). Compile-time, so routes pay nothing for middleware
 * that can never apply to them.
 */
function classify(prefix: string, pattern: string, isMount: boolean, cs: boolean): number {
  if (prefix === '') return ALWAYS;
  const n = prefix.length;
  for (let i = 0; i < n; i++) {
    if (i >= pattern.length) return isMount ? MAYBE : NEVER;
    const pc = pattern.charCodeAt(i);
    // Parameters, wildcards, escapes and non-ASCII text: only the request path can tell.
    if (pc === 0x3a || pc === 0x2a || pc === 0x25 || pc > 0x7e) return MAYBE;
    const qc = prefix.charCodeAt(i);
    if (qc === 0x25) return MAYBE;
    if (pc !== qc && (cs || (pc | 0x20) !== (qc | 0x20) || !isLetter(pc))) return NEVER;
  }
  if (pattern.length === n) return ALWAYS;
  const next = pattern.charCodeAt(n);
  if (next === 0x2f) return ALWAYS;
  if (next === 0x3a || next === 0x2a) return MAYBE;
  return NEVER;
}

function isLetter(c: number): boolean {
  const l = c | 0x20;
  return l >= 0x61 && l <= 0x7a;
}

/** Middleware that checks its prefix against the request path (for MAYBE routes). */
function guarded(u: UseEntry, cs: boolean): Middleware {
  const { prefix, fn } = u;
  return (req, res, next) =>
    prefixMatches(prefix, req.routePath, cs) ? fn(req, res, next) : next();
}

export class App {
  /** The native handler: `serve({ handler: app.handler })`. Compiles the app on first use. */
  readonly handler: Handler;

  readonly #options: AppOptions;
  readonly #router: Router<Entry>;
  readonly #caseSensitive: boolean;
  readonly #entries: Entry[] = [];
  readonly #uses: UseEntry[] = [];
  readonly #hooks: Hooks = {
    onRequest: [],
    preHandler: [],
    onSend: [],
    onResponse: [],
    onError: [],
  };
  #errorHandler: ErrorHandler | null = null;
  #notFound: AppHandler | null = null;
  readonly #mounts: App[] = [];
  #sites: HostMatcher<number> | null = null;
  readonly #siteApps: App[] = [];
  readonly #siteRecords: { names: string[]; isDefault: boolean }[] = [];
  #root: Scope | null = null;
  #frozen = false;
  #compiling = false;

  constructor(options: AppOptions = {}) {
    if (options === null || typeof options !== 'object') {
      throw new RapidError(E.APP_INVALID_OPTION, 'options must be an object');
    }
    this.#options = options;
    this.#caseSensitive = options.caseSensitive ?? true;
    this.#router = createRouter<Entry>({
      caseSensitive: this.#caseSensitive,
      trailingSlash: options.trailingSlash ?? 'strict',
      maxParamLength: options.maxParamLength,
    });
    // Validate settings now, so a bad option fails at createApp(), not on the first request.
    resolveSettings(options, null);
    const handler = (req: RapidRequest, res: RapidResponse): void | Promise<void> =>
      handle(this.#root ?? this.ready().#root!, req, res);
    this.handler = handler;
  }

  // --- routes ----------------------------------------------------------------------------------

  /**
   * Register handlers for `method` (one, a list, or 'ALL') on `path`. Every function but the last
   * is route middleware `(req, res, next)`; the last is the handler `(req, res)`.
   */
  route(method: string | readonly string[], path: string, ...handlers: RouteHandlers): this {
    this.#assertOpen();
    if (handlers.length === 0)
      throw new RapidError(E.APP_INVALID_HANDLER, `${path} has no handler`);
    handlers.forEach((h, i) => checkFn(h, `handler ${i} of ${path}`));
    const entry = new Entry(path, handlers as ChainFn[], -1);
    this.#router.add(method, path, entry);
    this.#entries.push(entry);
    return this;
  }

  get(path: string, ...handlers: RouteHandlers): this {
    return this.route('GET', path, ...handlers);
  }
  post(path: string, ...handlers: RouteHandlers): this {
    return this.route('POST', path, ...handlers);
  }
  put(path: string, ...handlers: RouteHandlers): this {
    return this.route('PUT', path, ...handlers);
  }
  delete(path: string, ...handlers: RouteHandlers): this {
    return this.route('DELETE', path, ...handlers);
  }
  patch(path: string, ...handlers: RouteHandlers): this {
    return this.route('PATCH', path, ...handlers);
  }
  options(path: string, ...handlers: RouteHandlers): this {
    return this.route('OPTIONS', path, ...handlers);
  }
  head(path: string, ...handlers: RouteHandlers): this {
    return this.route('HEAD', path, ...handlers);
  }
  /** Every method (an explicit route of the method wins). */
  all(path: string, ...handlers: RouteHandlers): this {
    return this.route(ANY_METHOD, path, ...handlers);
  }

  // --- middleware, hooks, handlers -------------------------------------------------------------

  /**
   * Middleware for every request below `prefix` (default: all), at a segment boundary ("/api"
   * takes /api and /api/x, not /apix), including requests no route takes (404/405/OPTIONS), in
   * registration order, before every route's own handlers. Call `await next()` to go on.
   */
  use(prefix: string | Middleware, ...fns: Middleware[]): this {
    this.#assertOpen();
    let p = '';
    if (typeof prefix === 'string') p = normalizePrefix(prefix, false);
    else fns.unshift(prefix);
    if (fns.length === 0) throw new RapidError(E.APP_INVALID_HANDLER, 'use() without middleware');
    for (const fn of fns) {
      checkFn(fn, 'middleware');
      this.#uses.push({ prefix: this.#caseSensitive ? p : p.toLowerCase(), fn });
    }
    return this;
  }

  /** Add a hook (see docs/app.md "Hooks" for when each runs). */
  addHook(name: 'onRequest' | 'preHandler' | 'onResponse', fn: RequestHook): this;
  addHook(name: 'onSend', fn: SendHook): this;
  addHook(name: 'onError', fn: ErrorHook): this;
  addHook(name: HookName, fn: RequestHook | SendHook | ErrorHook): this {
    this.#assertOpen();
    if (!HOOK_NAMES.includes(name)) {
      throw new RapidError(E.APP_INVALID_OPTION, `unknown hook ${JSON.stringify(name)}`);
    }
    checkFn(fn, `${name} hook`);
    (this.#hooks[name] as unknown[]).push(fn);
    return this;
  }
  onRequest(fn: RequestHook): this {
    return this.addHook('onRequest', fn);
  }
  preHandler(fn: RequestHook): this {
    return this.addHook('preHandler', fn);
  }
  onSend(fn: SendHook): this {
    return this.addHook('onSend', fn);
  }
  onResponse(fn: RequestHook): this {
    return this.addHook('onResponse', fn);
  }
  onError(fn: ErrorHook): this {
    return this.addHook('onError', fn);
  }

  /** Render errors yourself: send a response or return a value (sent like a handler's). Throwing
   * falls back to the default error page. Mounted apps inherit it unless they set their own. */
  setErrorHandler(fn: ErrorHandler): this {
    this.#assertOpen();
    checkFn(fn, 'error handler');
    this.#errorHandler = fn;
    return this;
  }

  /** The handler for requests no route takes (default: a 404 error page). Inherited by sub-apps. */
  setNotFoundHandler(fn: AppHandler): this {
    this.#assertOpen();
    checkFn(fn, 'not-found handler');
    this.#notFound = fn;
    return this;
  }
  /** Alias of setNotFoundHandler (Hono spelling). */
  notFound(fn: AppHandler): this {
    return this.setNotFoundHandler(fn);
  }

  // --- composition -----------------------------------------------------------------------------

  /**
   * Mount `sub` at `prefix` (a "stem"): it takes every method on the prefix and below, and sees
   * paths relative to it (req.routePath). The prefix may hold parameters (/t/:tenant), which
   * stay in req.params. `sub` inherits this app's preHandler/onSend/onResponse/onError hooks,
   * error and not-found handlers and unset options; its own hooks and middleware apply only to it.
   */
  mount(prefix: string, sub: App): this {
    this.#assertOpen();
    if (!(sub instanceof App)) throw new RapidError(E.APP_INVALID_HANDLER, 'mount() takes an App');
    if (sub === this) throw new RapidError(E.APP_INVALID_OPTION, 'an app cannot mount itself');
    const p = normalizePrefix(prefix, true);
    const entry = new Entry(p === '' ? '/' : p, [], this.#mounts.length);
    this.#router.mount(p === '' ? '/' : p, entry);
    this.#mounts.push(sub);
    this.#entries.push(entry);
    return this;
  }

  /**
   * A virtual host: requests whose Host matches go to `sub` (whole path); others stay with this
   * app. Names: exact, `*.example.com`, `.example.com`, `*`, each optionally `:port`; see
   * docs/router.md "Virtual hosts". `default: true` also sends unknown hosts to `sub`.
   */
  site(names: string | readonly string[] | SiteOptions, sub: App): this {
    this.#assertOpen();
    if (!(sub instanceof App)) throw new RapidError(E.APP_INVALID_HANDLER, 'site() takes an App');
    if (sub === this) throw new RapidError(E.APP_INVALID_OPTION, 'an app cannot be its own site');
    let list: string[];
    let isDefault = false;
    if (typeof names === 'string' || Array.isArray(names)) {
      list = typeof names === 'string' ? [names] : [...(names as readonly string[])];
    } else {
      const o = names as SiteOptions;
      list = [o.names, o.aliases ?? []].flat() as string[];
      isDefault = o.default === true;
    }
    const matcher = (this.#sites ??= new HostMatcher<number>());
    const index = this.#siteApps.length;
    if (list.length > 0) matcher.add(list, index);
    if (isDefault) matcher.setDefault(index);
    else if (list.length === 0) throw new RapidError(E.VHOST_INVALID_NAME, 'no name given');
    this.#siteApps.push(sub);
    this.#siteRecords.push({ names: list, isDefault });
    return this;
  }

  // --- lifecycle -------------------------------------------------------------------------------

  /** Compile the app (and its sub-apps and sites) now; registering afterwards throws. */
  ready(): this {
    if (this.#root === null) this.#root = this.#compile(null);
    return this;
  }

  /** Every route and mount, as registered. */
  routes(): readonly RouteInfo<Entry>[] {
    return this.#router.routes();
  }

  #assertOpen(): void {
    if (this.#frozen) throw new RapidError(E.APP_ALREADY_READY);
  }

  #compile(parent: Scope | null): Scope {
    if (this.#compiling) throw new RapidError(E.APP_INVALID_OPTION, 'apps mounted in a cycle');
    this.#compiling = true;
    try {
      if (!this.#frozen) {
        this.#frozen = true;
        this.#compileChains();
      }
      const settings = resolveSettings(this.#options, parent === null ? null : parent.settings);
      const h = this.#hooks;
      const scope = new Scope(
        settings,
        this.#router,
        {
          onRequest: h.onRequest.length === 0 ? null : h.onRequest.slice(),
          preHandler: joinHooks(parent?.preHandler ?? null, h.preHandler),
          onSend: joinHooks(parent?.onSend ?? null, h.onSend),
          onResponse: joinHooks(parent?.onResponse ?? null, h.onResponse),
          onError: joinHooks(parent?.onError ?? null, h.onError),
        },
        this.#errorHandler ?? parent?.errorHandler ?? null,
        this.#notFound ?? parent?.notFound ?? null,
        this.#uses.slice(),
        this.#caseSensitive,
      );
      scope.children = this.#mounts.map((m) => m.#compile(scope));
      if (this.#sites !== null) {
        // The names were validated by site(); the matcher requests use is keyed by scope.
        const sites = new HostMatcher<Scope>();
        this.#siteApps.forEach((sub, i) => {
          const s = sub.#compile(scope);
          const r = this.#siteRecords[i] as { names: string[]; isDefault: boolean };
          if (r.names.length > 0) sites.add(r.names, s);
          if (r.isDefault) sites.setDefault(s);
        });
        scope.sites = sites;
      }
      return scope;
    } finally {
      this.#compiling = false;
    }
  }

  /** Each route's chain: the use() middleware that can apply to it, then its own functions. */
  #compileChains(): void {
    const cs = this.#caseSensitive;
    for (const entry of this.#entries) {
      const chain: ChainFn[] = [];
      const pattern = cs ? entry.pattern : entry.pattern.toLowerCase();
      for (const u of this.#uses) {
        const c = classify(u.prefix, pattern, entry.mountIndex >= 0, cs);
        if (c === ALWAYS) chain.push(u.fn);
        else if (c === MAYBE) chain.push(guarded(u, cs));
      }
      entry.handlerStart = chain.length;
      for (const fn of entry.own) chain.push(fn);
      entry.chain = chain;
    }
  }
}

function resolveSettings(o: AppOptions, parent: Settings | null): Settings {
  const bad = (what: string): RapidError => new RapidError(E.APP_INVALID_OPTION, what);
  let cookieSecrets = parent?.cookieSecrets ?? null;
  if (o.cookieSecret !== undefined) {
    const list = typeof o.cookieSecret === 'string' ? [o.cookieSecret] : [...o.cookieSecret];
    if (list.length === 0 || list.some((s) => typeof s !== 'string' || s === '')) {
      throw bad('cookieSecret must be a non-empty string or a list of them');
    }
    cookieSecrets = list;
  }
  const bodyLimit = o.bodyLimit ?? parent?.bodyLimit ?? 1024 * 1024;
  if (!Number.isInteger(bodyLimit) || bodyLimit < 0) throw bad('bodyLimit must be an integer >= 0');
  const queryLimit = o.queryLimit ?? parent?.queryLimit ?? MAX_QUERY_PAIRS;
  if (!Number.isInteger(queryLimit) || queryLimit < 1)
    throw bad('queryLimit must be an integer >= 1');
  const bodyParsers = o.bodyParsers ?? parent?.bodyParsers ?? [];
  for (const p of bodyParsers) {
    if (
      p === null ||
      typeof p !== 'object' ||
      typeof p.parse !== 'function' ||
      !Array.isArray(p.types)
    ) {
      throw bad('bodyParsers must be { types: string[], parse(req, ctx) } objects');
    }
  }
  if (o.sendFile !== undefined) checkFn(o.sendFile, 'sendFile');
  if (o.logError !== undefined) checkFn(o.logError, 'logError');
  return {
    production: o.production ?? parent?.production ?? process.env.NODE_ENV === 'production',
    trust: o.trustProxy !== undefined ? compileTrust(o.trustProxy) : (parent?.trust ?? null),
    cookieSecrets,
    bodyParsers,
    bodyLimit,
    sendFile: o.sendFile ?? parent?.sendFile ?? null,
    queryLimit,
    logError: o.logError ?? parent?.logError ?? defaultLogError,
  };
}

/** Create an application. See docs/app.md. */
export function createApp(options?: AppOptions): App {
  return new App(options);
}
