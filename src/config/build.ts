/**
 * The config model -> running servers.
 *
 * compileSites() builds one native handler for all sites: the Host header picks the site (the
 * router's HostMatcher, as createApp().site() does, without an App per request), and each site is
 * a chain compiled once: header rules, redirects, rewrites, access rules, then its handlers in
 * order (each matched by path prefix or glob), its mounts, and its root. Features of other parts
 * of Rapid come from the factory table (features.ts).
 *
 * startServers() runs one serve() per listener, every listener serving the same compiled sites
 * through one indirection, so reload() can swap the sites atomically: requests already running
 * finish on the old handlers, new ones (on every connection) get the new. Listeners whose address
 * did not change keep their socket (and their connections); limits are applied in place.
 */
import { existsSync, lstatSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { E, RapidError } from '../core/errors.js';
import type {
  Handler,
  Limits,
  RapidRequest,
  RapidResponse,
  ResponseObserver,
  UpgradeHandler,
} from '../core/types.js';
import { hstsValue, redirectToHttps } from '../features/https/index.js';
import { fetchHandler, type FetchFunction } from '../app/fetch.js';
import { App } from '../app/app.js';
import { globToRegExp } from '../features/static/cache-control.js';
import { createStaticHandler, type StaticOptions } from '../features/static/index.js';
import { HostMatcher } from '../router/vhost.js';
import { serve, type RapidServer } from '../server/server.js';
import { TlsSetup, type TlsOptions } from '../server/tls.js';
import {
  factories as defaultFactories,
  type FactoryContext,
  type FeatureFactories,
  type FeatureHandler,
} from './features.js';
import { asConfigError, importModule, settingError, type LoadedConfig } from './load.js';
import {
  Metrics,
  observeConfig,
  observeKey,
  observerOf,
  onErrorOf,
  type Observability,
} from './observe.js';
import type { Config, HandlerConfig, ListenerConfig, MountConfig, SiteConfig } from './schema.js';
import type { StatusView } from '../server/observe.js';

type Next = () => void | Promise<void>;
type Part = (req: RapidRequest, res: RapidResponse, next: Next) => void | Promise<void>;

export interface SiteSummary {
  readonly name: string;
  readonly aliases: readonly string[];
  readonly default: boolean;
  readonly root: string | undefined;
}

export interface CompiledSites {
  /** Serves every site (the Host header picks one). */
  readonly handler: Handler;
  /** Upgrade requests for the sites' WebSocket-forwarding proxies; null when there are none. */
  readonly upgrade: UpgradeHandler | null;
  readonly sites: readonly SiteSummary[];
  /** Stop what the handlers hold (file watchers, caches, upstream pools). */
  close(): Promise<void>;
}

export interface BuildOptions {
  /** The factory table (default: features.ts's). */
  features?: FeatureFactories;
  /** Told about handler failures (default: serve()'s, which prints them). */
  onError?: (err: unknown, req: RapidRequest | null) => void;
  /** Re-import handler modules (reload picks up changed code). */
  fresh?: boolean;
  /** Counters the status endpoint shows (a cluster worker passes its own, which the primary adds up). */
  metrics?: Metrics;
  /** Where the status page's numbers come from (a cluster worker asks the primary). */
  statusView?: () => Promise<StatusView> | StatusView;
  /** Bind every TCP listener with SO_REUSEPORT (a cluster worker when the primary chose it). */
  reusePort?: boolean;
}

/** A path matcher compiled once: prefix at a segment boundary, or a glob; null matches all. */
export function compilePathMatch(pattern: string | undefined): ((path: string) => boolean) | null {
  if (
    pattern === undefined ||
    pattern === '' ||
    pattern === '/' ||
    pattern === '*' ||
    pattern === '/**'
  )
    return null;
  if (/[*?]/.test(pattern)) {
    const re = globToRegExp(pattern);
    return (path) => re.test(decoded(path));
  }
  const base = pattern.endsWith('/') ? pattern.slice(0, -1) : pattern;
  return (path) => {
    const p = decoded(path);
    return p.startsWith(base) && (p.length === base.length || p.charCodeAt(base.length) === 0x2f);
  };
}

/** The path as the file system sees it, so "/x.ph%70" still matches "*.php". */
function decoded(path: string): string {
  if (path.indexOf('%') === -1) return path;
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

function notFound(_req: RapidRequest, res: RapidResponse): void {
  res.status(404);
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.send('Not Found\n');
}

/** The parts run in order, each calling next() to pass on; `last` answers what none took. */
function chain(parts: readonly Part[], last: Handler): Handler {
  if (parts.length === 0) return last;
  const n = parts.length;
  return (req, res) => {
    let i = 0;
    const next: Next = () => (i < n ? parts[i++]!(req, res, next) : last(req, res));
    return next();
  };
}

function matched(match: ((path: string) => boolean) | null, h: FeatureHandler): Part {
  if (match === null) return (req, res, next) => h(req, res, next);
  return (req, res, next) => (match(req.path) ? h(req, res, next) : next());
}

function staticOptions(
  site: SiteConfig,
  root: string,
  prefix: string | undefined,
  own: Partial<MountConfig>,
): StaticOptions {
  const c = site.compression;
  return {
    root,
    prefix,
    index: own.index ?? site.index,
    listing: own.listing ?? site.listing,
    dotfiles: own.dotfiles ?? site.dotfiles,
    followSymlinks: site.followSymlinks,
    notFound: own.notFound ?? (prefix === undefined ? site.notFound : undefined),
    mimeTypes: site.mimeTypes,
    cacheControl: site.cacheControl.map((r) => ({ match: r.path, value: r.value })),
    compression: c.enabled
      ? {
          encodings: c.codings,
          minSize: c.minSize,
          gzipLevel: c.level,
          brotliQuality: c.brotliQuality,
          types: c.types,
        }
      : false,
    precompressed: c.precompressed,
    cache: site.cache.enabled
      ? {
          maxFileSize: site.cache.maxFileSize,
          maxBytes: site.cache.maxBytes,
          maxEntries: site.cache.maxEntries,
          revalidateMs: site.cache.revalidate,
          watch: site.cache.watch,
        }
      : false,
  };
}

/** What a handler module exports, as a feature handler. */
function moduleHandler(value: unknown, what: string): FeatureHandler {
  if (value instanceof App) return value.handler;
  if (typeof value === 'function') {
    // (req, res) or (req, res, next) is Rapid's; (request) a fetch function (one that also wants
    // the info argument is exported as { fetch }).
    return value.length >= 2 ? (value as FeatureHandler) : fetchHandler(value as FetchFunction);
  }
  if (value !== null && typeof value === 'object') {
    const o = value as { fetch?: unknown; handler?: unknown; close?: () => void | Promise<void> };
    let h: FeatureHandler | undefined;
    if (typeof o.handler === 'function') h = (o.handler as FeatureHandler).bind(o);
    else if (typeof o.fetch === 'function') h = fetchHandler((o.fetch as FetchFunction).bind(o));
    if (h !== undefined) {
      if (typeof o.close === 'function') h.close = o.close.bind(o);
      return h;
    }
  }
  throw new Error(
    `${what} is not a Rapid handler, an App, a fetch function or an object with fetch`,
  );
}

/** One site compiled: its chain, and its WebSocket-forwarding proxies by path. */
interface SiteEntry {
  handler: Handler;
  upgrades: { match: ((path: string) => boolean) | null; upgrade: UpgradeHandler }[];
}

class Builder {
  readonly closers: (() => void | Promise<void>)[] = [];

  constructor(
    readonly loaded: LoadedConfig,
    readonly features: FeatureFactories,
    readonly fresh: boolean,
    /** The port cleartext requests are redirected to (the first TLS listener's, once bound). */
    readonly httpsPort: () => number,
  ) {}

  get config(): Config {
    return this.loaded.config;
  }

  ctx(site?: SiteConfig): FactoryContext {
    return { baseDir: this.config.baseDir, config: this.config, site };
  }

  /** Run a factory, keeping its close() and locating its errors at `path`. */
  make<T extends { close?(): void | Promise<void> }>(path: string, create: () => T): T {
    let made: T;
    try {
      made = create();
    } catch (err) {
      throw asConfigError(this.loaded, path, err);
    }
    if (typeof made.close === 'function') this.closers.push(() => made.close!());
    return made;
  }

  factory<K extends keyof FeatureFactories>(
    name: K,
    path: string,
  ): NonNullable<FeatureFactories[K]> {
    const f = this.features[name];
    if (f === undefined || f === false) {
      // The loader refuses these settings already; this is for a table changed in between.
      throw settingError(
        this.loaded,
        path,
        `"${name}" is not available in this build of Rapid`,
        E.CONFIG_NOT_AVAILABLE,
      );
    }
    return f as NonNullable<FeatureFactories[K]>;
  }

  async handler(site: SiteConfig, h: HandlerConfig, path: string): Promise<FeatureHandler> {
    switch (h.type) {
      case 'static':
        return this.make(path, () =>
          createStaticHandler(staticOptions(site, h.root, undefined, h)),
        );
      case 'module': {
        let ns: Record<string, unknown>;
        try {
          ns = await importModule(h.module, this.fresh);
        } catch (err) {
          throw settingError(
            this.loaded,
            `${path}.module`,
            `cannot load ${h.module}: ${(err as Error)?.message ?? String(err)}`,
            E.CONFIG_MODULE_FAILED,
            err,
          );
        }
        if (!(h.export in ns)) {
          throw settingError(
            this.loaded,
            `${path}.export`,
            `${h.module} has no export "${h.export}"`,
            E.CONFIG_MODULE_FAILED,
          );
        }
        let fn: FeatureHandler;
        try {
          fn = moduleHandler(ns[h.export], `the export "${h.export}" of ${h.module}`);
        } catch (err) {
          throw settingError(
            this.loaded,
            `${path}.module`,
            (err as Error).message,
            E.CONFIG_MODULE_FAILED,
          );
        }
        if (typeof fn.close === 'function') this.closers.push(() => fn.close!());
        return fn;
      }
      case 'fastcgi': {
        const { type: _t, path: _p, ...o } = h;
        const f = this.factory('fastcgi', path);
        return this.make(path, () => f({ ...o, root: o.root ?? site.root! }, this.ctx(site)));
      }
      case 'cgi': {
        const { type: _t, path: _p, ...o } = h;
        const f = this.factory('cgi', path);
        return this.make(path, () => f({ ...o, root: o.root ?? site.root! }, this.ctx(site)));
      }
      case 'proxy': {
        const { type: _t, path: _p, ...o } = h;
        const f = this.factory('proxy', path);
        return this.make(path, () => f(o, this.ctx(site)));
      }
    }
  }

  async site(site: SiteConfig, i: number): Promise<SiteEntry> {
    const at = `sites[${i}]`;
    const parts: Part[] = [];
    const upgrades: SiteEntry['upgrades'] = [];
    this.https(site, at, parts);
    // Header rules first: they act on the final head (RapidResponse.onHead), so redirects, 401/403
    // and error pages get them too; access rules after rewrites, so they guard what is served
    // (docs/rules.md "Order").
    for (const key of ['headers', 'redirects', 'rewrites', 'access'] as const) {
      const rules = site[key];
      if (rules.length === 0) continue;
      const f = this.factory(key, `${at}.${key}`) as (
        r: typeof rules,
        c: FactoryContext,
      ) => FeatureHandler;
      const h = this.make(`${at}.${key}`, () => f(rules, this.ctx(site)));
      parts.push((req, res, next) => h(req, res, next));
    }
    for (let j = 0; j < site.handlers.length; j++) {
      const h = site.handlers[j]!;
      const fn = await this.handler(site, h, `${at}.handlers[${j}]`);
      const match = compilePathMatch(h.path);
      parts.push(matched(match, fn));
      const upgrade = (fn as { upgrade?: UpgradeHandler }).upgrade;
      if (h.type === 'proxy' && h.websocket && typeof upgrade === 'function')
        upgrades.push({ match, upgrade });
    }
    site.mounts.forEach((m, j) => {
      const fn = this.make(`${at}.mounts[${j}]`, () =>
        createStaticHandler(staticOptions(site, m.root, m.path, m)),
      );
      parts.push((req, res, next) => fn(req, res, next));
    });
    const last: Handler =
      site.root === undefined
        ? notFound
        : this.make(`${at}.root`, () =>
            createStaticHandler(staticOptions(site, site.root!, undefined, {})),
          );
    return { handler: chain(parts, last), upgrades };
  }

  /** redirectToHttps and hsts: only with a TLS listener to send clients to. */
  https(site: SiteConfig, at: string, parts: Part[]): void {
    if (site.redirectToHttps !== true && site.hsts === undefined && site.tls === undefined) return;
    const tlsAt = this.config.listeners.findIndex((l) => l.tls !== undefined);
    if (tlsAt === -1) {
      const key =
        site.redirectToHttps === true
          ? 'redirectToHttps'
          : site.hsts !== undefined
            ? 'hsts'
            : 'tls';
      throw settingError(
        this.loaded,
        `${at}.${key}`,
        'needs a listener with tls (none of the listeners serves HTTPS)',
        E.CONFIG_BUILD_FAILED,
      );
    }
    if (site.redirectToHttps === true) {
      const port = this.httpsPort;
      parts.push((req, res, next) => (req.secure ? next() : redirectToHttps(req, res, port())));
    }
    if (site.hsts !== undefined) {
      let value: string;
      try {
        value = hstsValue(site.hsts);
      } catch (err) {
        throw asConfigError(this.loaded, `${at}.hsts`, err);
      }
      parts.push((req, res, next) => {
        if (req.secure) res.setHeader('Strict-Transport-Security', value);
        return next();
      });
    }
  }

  async compile(): Promise<{ handler: Handler; upgrade: UpgradeHandler | null }> {
    const { config } = this;
    const entries: SiteEntry[] = [];
    for (let i = 0; i < config.sites.length; i++)
      entries.push(await this.site(config.sites[i]!, i));
    let pick: (host: string) => SiteEntry;
    if (entries.length === 1) {
      const only = entries[0]!;
      pick = () => only;
    } else {
      const hosts = new HostMatcher<SiteEntry>();
      let def = config.sites.findIndex((s) => s.default);
      if (def === -1) def = 0;
      config.sites.forEach((s, i) => hosts.add([s.name, ...s.aliases], entries[i]!));
      hosts.setDefault(entries[def]!);
      const fallback = entries[def]!;
      pick = (host) => hosts.find(host) ?? fallback;
    }
    const handler: Handler =
      entries.length === 1 ? entries[0]!.handler : (req, res) => pick(req.host).handler(req, res);
    // WebSocket proxying: only when a proxy handler forwards upgrades is there a hook at all.
    if (!entries.some((e) => e.upgrades.length > 0)) return { handler, upgrade: null };
    const upgrade: UpgradeHandler = (req, socket, head) => {
      for (const u of pick(req.host).upgrades) {
        if (u.match === null || u.match(req.path)) return u.upgrade(req, socket, head);
      }
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    };
    return { handler, upgrade };
  }

  async close(): Promise<void> {
    const results = await Promise.allSettled(this.closers.map((c) => c()));
    for (const r of results)
      if (r.status === 'rejected') console.error('rapid: closing a handler failed:', r.reason);
  }
}

/**
 * Load every certificate of every TLS listener (its own, its sni table, its sites'), so a bad
 * file is a located error at build time: `rapid check` catches it, a reload is refused by it.
 */
function checkCertificates(loaded: LoadedConfig, features: FeatureFactories): void {
  const { config } = loaded;
  config.listeners.forEach((l, i) => {
    if (l.tls === undefined || features.tls === undefined) return;
    try {
      const opts = features.tls(l, config.sites, { baseDir: config.baseDir, config }).tls;
      if (opts !== undefined) new TlsSetup(opts as TlsOptions).close();
    } catch (err) {
      throw asConfigError(loaded, `listeners[${i}].tls`, err);
    }
  });
}

/** Build the handler for every site of a loaded config (nothing listens yet). */
export async function compileSites(
  loaded: LoadedConfig,
  options: BuildOptions = {},
  httpsPort?: () => number,
): Promise<CompiledSites> {
  const tlsPort = loaded.config.listeners.find((l) => l.tls !== undefined)?.port ?? 443;
  const b = new Builder(
    loaded,
    options.features ?? defaultFactories,
    options.fresh === true,
    httpsPort ?? (() => tlsPort),
  );
  let built: { handler: Handler; upgrade: UpgradeHandler | null };
  try {
    checkCertificates(loaded, b.features);
    built = await b.compile();
  } catch (err) {
    await b.close();
    throw err;
  }
  return {
    handler: built.handler,
    upgrade: built.upgrade,
    sites: loaded.config.sites.map((s) => ({
      name: s.name,
      aliases: s.aliases,
      default: s.default,
      root: s.root,
    })),
    close: () => b.close(),
  };
}

// ---------------------------------------------------------------------------------------------
// Listeners

export interface ListenerInfo {
  readonly config: ListenerConfig;
  readonly server: RapidServer;
  /** http://127.0.0.1:8080/ or unix:/run/rapid.sock */
  readonly url: string;
}

export interface RunningConfig {
  readonly config: Config;
  readonly listeners: readonly ListenerInfo[];
  readonly sites: readonly SiteSummary[];
  /** Apply a new config: refused as a whole (the old one keeps serving) if any part fails. */
  reload(next: LoadedConfig): Promise<void>;
  /** Graceful stop: in-flight requests get `timeoutMs` (default: the config's shutdownTimeout). */
  close(timeoutMs?: number, options?: { idleGraceMs?: number }): Promise<void>;
  /** Reopen the log files (SIGUSR1 after logrotate). */
  reopenLogs(): Promise<void>;
}

/** Handlers replaced by a reload, released after the shutdown deadline (or at close()). */
interface Retiring {
  timer: NodeJS.Timeout | undefined;
  run(): Promise<void>;
}

/** A listener's identity across reloads; every port-0 listener is its own (by position). */
function listenerKey(l: ListenerConfig, i: number): string {
  if (l.socket !== undefined) return `unix:${l.socket}`;
  return l.port === 0 ? `${l.host}|0|${i}` : `${l.host}|${l.port}`;
}

export function limitsOf(config: Config): Partial<Limits> {
  const { limits, keepAlive } = config;
  return {
    ...limits,
    maxRequestsPerConnection: keepAlive.maxRequests,
    keepAliveTimeout: keepAlive.timeout,
    closeTimeout: config.shutdownTimeout,
  };
}

function urlOf(l: ListenerConfig, server: RapidServer): string {
  if (l.socket !== undefined) return `unix:${l.socket}`;
  const host = l.host.includes(':') ? `[${l.host}]` : l.host;
  return `${l.tls !== undefined ? 'https' : 'http'}://${host}:${server.port}/`;
}

/** A Unix socket file left by a process that died: remove it if nothing answers on it. */
async function clearStaleSocket(path: string): Promise<void> {
  if (!existsSync(path)) return;
  try {
    if (!lstatSync(path).isSocket()) return;
  } catch {
    return;
  }
  const alive = await new Promise<boolean>((resolve) => {
    const s = net.connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
  if (!alive) {
    try {
      unlinkSync(path);
    } catch {
      // listen() will report it
    }
  }
}

async function listenOne(
  l: ListenerConfig,
  config: Config,
  handler: Handler,
  builder: { loaded: LoadedConfig; index: number; features: FeatureFactories },
  hooks: Hooks,
): Promise<RapidServer> {
  if (l.socket !== undefined) await clearStaleSocket(l.socket);
  const extra: Record<string, unknown> = {};
  const ctx: FactoryContext = { baseDir: config.baseDir, config };
  const at = `listeners[${builder.index}]`;
  try {
    if (l.tls !== undefined && builder.features.tls !== undefined)
      Object.assign(extra, builder.features.tls(l, config.sites, ctx));
    if (
      (l.http2 !== undefined || l.h2c !== undefined || l.http2Engine !== undefined) &&
      builder.features.http2 !== undefined
    )
      Object.assign(extra, builder.features.http2(l, ctx));
  } catch (err) {
    throw asConfigError(builder.loaded, at, err);
  }
  try {
    return await serve({
      ...extra,
      handler,
      host: l.socket === undefined ? l.host : undefined,
      port: l.socket === undefined ? l.port : undefined,
      path: l.socket,
      backlog: l.backlog,
      reusePort: l.reusePort || hooks.reusePort === true,
      limits: limitsOf(config),
      onError: hooks.onError,
      ...(hooks.onResponse !== undefined ? { onResponse: hooks.onResponse } : {}),
      ...(hooks.onUpgrade !== undefined ? { onUpgrade: hooks.onUpgrade } : {}),
    });
  } catch (err) {
    const code = (err as { cause?: NodeJS.ErrnoException }).cause?.code;
    const where = l.socket ?? `${l.host}:${l.port}`;
    const why =
      code === 'EADDRINUSE'
        ? 'address already in use'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EADDRNOTAVAIL'
            ? 'address not available'
            : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
              ? 'cannot resolve the host'
              : (code ?? (err as Error).message);
    throw settingError(
      builder.loaded,
      at,
      `cannot listen on ${where}: ${why}`,
      E.LISTEN_FAILED,
      err,
    );
  }
}

/** What every listener is given besides the handler. */
interface Hooks {
  onError: (err: unknown, req: RapidRequest | null) => void;
  /** Only while the config observes responses (an access log or the status endpoint). */
  onResponse: ResponseObserver | undefined;
  /** Only when a site has a proxy that forwards WebSocket upgrades. */
  onUpgrade: UpgradeHandler | undefined;
  reusePort: boolean | undefined;
}

/** Where a failure to open the logs or the status endpoint is reported. */
function observeSetting(config: Config): string {
  if (config.accessLog !== undefined) return 'accessLog';
  const i = config.sites.findIndex((s) => s.accessLog !== undefined);
  if (i >= 0) return `sites[${i}].accessLog`;
  return config.errorLog !== undefined ? 'errorLog' : 'status';
}

/** Start every listener of a loaded config. */
export async function startServers(
  loaded: LoadedConfig,
  options: BuildOptions = {},
): Promise<RunningConfig> {
  const features = options.features ?? defaultFactories;
  let open = new Map<string, ListenerInfo>();
  // Cleartext requests of a site with redirectToHttps go to the first TLS listener's port.
  const httpsPort = (): number => {
    for (const x of open.values()) if (x.config.tls !== undefined) return x.server.port;
    return 443;
  };
  let compiled = await compileSites(loaded, options, httpsPort);
  let config = loaded.config;
  let upgradeNow = compiled.upgrade;
  const upgrading = upgradeNow !== null;
  const onUpgrade: UpgradeHandler = (req, socket, head) => {
    if (upgradeNow !== null) return upgradeNow(req, socket, head);
    socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
  };
  // The sites, swapped by a reload; the observers (status endpoint) wrap them.
  let sitesNow: Handler = compiled.handler;
  const sites: Handler = (req, res) => sitesNow(req, res);
  let metrics: Metrics | null = options.metrics ?? null;
  let removeSources: (() => void) | null = null;
  const metricsFor = (c: Config): Metrics | undefined => {
    if (c.status === undefined) return undefined;
    metrics ??= new Metrics();
    removeSources ??= metrics.addSources({
      openConnections: () => {
        let n = 0;
        for (const x of open.values()) n += x.server.connections;
        return n;
      },
    });
    return metrics;
  };
  const dropSources = (): void => {
    removeSources?.();
    removeSources = null;
  };
  const observeAt = async (at: LoadedConfig): Promise<Observability | null> => {
    try {
      return await observeConfig(at.config, sites, {
        metrics: metricsFor(at.config),
        statusView: options.statusView,
      });
    } catch (err) {
      throw asConfigError(at, observeSetting(at.config), err);
    }
  };
  let obs: Observability | null;
  try {
    obs = await observeAt(loaded);
  } catch (err) {
    await compiled.close();
    throw err;
  }
  let current: Handler = obs?.handler ?? compiled.handler;
  // Every listener calls through here, so a reload swaps all sites at once.
  const handler: Handler = (req, res) => current(req, res);
  const observer = observerOf(() => obs);
  let observing = obs?.onResponse != null;
  const hooks = (): Hooks => ({
    onError: onErrorOf(() => obs, options.onError),
    onResponse: observing ? observer : undefined,
    onUpgrade: upgrading ? onUpgrade : undefined,
    reusePort: options.reusePort,
  });
  try {
    for (let i = 0; i < config.listeners.length; i++) {
      const l = config.listeners[i]!;
      const server = await listenOne(l, config, handler, { loaded, index: i, features }, hooks());
      open.set(listenerKey(l, i), { config: l, server, url: urlOf(l, server) });
    }
  } catch (err) {
    await Promise.all([...open.values()].map((x) => x.server.close(0)));
    await compiled.close();
    await obs?.close();
    dropSources();
    throw err;
  }
  let closing: Promise<void> | null = null;
  let reloading: Promise<void> = Promise.resolve();
  const retiring = new Set<Retiring>();

  const running: RunningConfig = {
    get config() {
      return config;
    },
    get listeners() {
      return [...open.values()];
    },
    get sites() {
      return compiled.sites;
    },
    reload(next: LoadedConfig): Promise<void> {
      const run = async (): Promise<void> => {
        if (closing !== null) throw new RapidError(E.SERVER_NOT_LISTENING, 'the server is closing');
        const nextCompiled = await compileSites(next, { ...options, fresh: true }, httpsPort);
        const nextConfig = next.config;
        const sameObservers = observeKey(nextConfig) === observeKey(config);
        let nextObs: Observability | null = obs;
        if (!sameObservers) {
          try {
            nextObs = await observeAt(next);
          } catch (err) {
            await nextCompiled.close();
            throw err;
          }
        }
        const kept = new Map<string, ListenerInfo>();
        const started: ListenerInfo[] = [];
        const certificates: (() => void)[] = [];
        if (nextCompiled.upgrade !== null && !upgrading) {
          await nextCompiled.close();
          if (nextObs !== obs) await nextObs?.close();
          throw settingError(
            next,
            'sites',
            'a proxy that forwards WebSocket upgrades was added: that needs a restart (the listeners were started without one)',
            E.CONFIG_BUILD_FAILED,
          );
        }
        try {
          for (let i = 0; i < nextConfig.listeners.length; i++) {
            const l = nextConfig.listeners[i]!;
            const key = listenerKey(l, i);
            const old = open.get(key);
            if (old !== undefined && (l.tls === undefined) !== (old.config.tls === undefined)) {
              throw settingError(
                next,
                `listeners[${i}]`,
                'turning TLS on or off on a listener needs a restart',
                E.CONFIG_BUILD_FAILED,
              );
            } else if (
              old !== undefined &&
              (l.http2 !== old.config.http2 ||
                l.h2c !== old.config.h2c ||
                l.http2Engine !== old.config.http2Engine)
            ) {
              throw settingError(
                next,
                `listeners[${i}]`,
                'changing http2, h2c or http2Engine of a listener needs a restart',
                E.CONFIG_BUILD_FAILED,
              );
            } else if (old !== undefined) {
              // Same address: keep the socket and its connections (backlog and reusePort apply at
              // the next start). A TLS listener re-reads its certificates, the sites' too.
              if (l.tls !== undefined) {
                const ctx: FactoryContext = { baseDir: nextConfig.baseDir, config: nextConfig };
                let tls: TlsOptions;
                try {
                  tls = features.tls!(l, nextConfig.sites, ctx).tls as TlsOptions;
                  new TlsSetup(tls).close();
                } catch (err) {
                  throw asConfigError(next, `listeners[${i}].tls`, err);
                }
                certificates.push(() => old.server.reloadCertificates(tls));
              }
              kept.set(key, { ...old, config: l });
            } else {
              const server = await listenOne(
                l,
                nextConfig,
                handler,
                { loaded: next, index: i, features },
                { ...hooks(), onResponse: nextObs?.onResponse != null ? observer : undefined },
              );
              const info = { config: l, server, url: urlOf(l, server) };
              started.push(info);
              kept.set(key, info);
            }
          }
          const limits = limitsOf(nextConfig);
          for (const info of kept.values()) info.server.setLimits(limits);
        } catch (err) {
          await Promise.all(started.map((x) => x.server.close(0)));
          await nextCompiled.close();
          if (nextObs !== obs) await nextObs?.close();
          throw err;
        }
        // The swap: from here on every new request gets the new sites.
        const oldCompiled = compiled;
        const removed = [...open.entries()].filter(([key]) => !kept.has(key)).map(([, v]) => v);
        const oldObs = obs;
        sitesNow = nextCompiled.handler;
        upgradeNow = nextCompiled.upgrade;
        for (const reloadCertificates of certificates) {
          try {
            reloadCertificates();
          } catch (err) {
            // Checked a moment ago: a file changed in between. That listener keeps its old ones.
            console.error('rapid: reloading certificates failed:', (err as Error).message);
          }
        }
        obs = nextObs;
        current = nextObs?.handler ?? nextCompiled.handler;
        compiled = nextCompiled;
        config = nextConfig;
        open = kept;
        if (!observing && nextObs?.onResponse != null) {
          observing = true;
          for (const x of kept.values()) x.server.observeResponses(observer);
        }
        // Responses from now on go to the new logs (through the indirection): the old ones close.
        if (oldObs !== nextObs) await oldObs?.close();
        await Promise.all(removed.map((x) => x.server.close()));
        // Requests that started on the old handlers may still be running: they get the shutdown
        // deadline before what those handlers hold (caches, watchers, pools) is released.
        const retire: Retiring = { timer: undefined, run: () => oldCompiled.close() };
        retire.timer = setTimeout(() => {
          retiring.delete(retire);
          void retire.run();
        }, nextConfig.shutdownTimeout);
        retire.timer.unref();
        retiring.add(retire);
      };
      // One reload at a time, in order; a failed one does not block the next.
      const p = reloading.then(run, run);
      reloading = p.catch(() => undefined);
      return p;
    },
    close(timeoutMs?: number, o?: { idleGraceMs?: number }): Promise<void> {
      closing ??= (async () => {
        await reloading;
        await Promise.all(
          [...open.values()].map((x) => x.server.close(timeoutMs ?? config.shutdownTimeout, o)),
        );
        const old = [...retiring];
        retiring.clear();
        for (const r of old) clearTimeout(r.timer);
        await Promise.all([compiled.close(), ...old.map((r) => r.run())]);
        await obs?.close();
        dropSources();
      })();
      return closing;
    },
    async reopenLogs(): Promise<void> {
      await obs?.reopen();
    },
  };
  return running;
}
