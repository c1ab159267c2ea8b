/**
 * The factory table: how the config builder turns the settings of features that live in other
 * parts of Rapid into running code. A feature whose entry is missing is "not available in this
 * build": the loader refuses its settings with RAPID_ERR_CONFIG_NOT_AVAILABLE naming file:line,
 * never ignores them.
 *
 * Wiring a feature in is one line in `factories` below, e.g.
 *
 *   fastcgi: (o, ctx) => createFastCgiHandler({ ...o, root: o.root ?? ctx.site!.root!, baseDir: ctx.baseDir }),
 *   access: (rules, ctx) => createAccessControl(rules, { baseDir: ctx.baseDir }),
 *
 * Options arrive exactly in the agreed shapes (docs/config.md): plain data, durations in ms,
 * sizes in bytes, every default of the schema filled in.
 */
import type { RapidRequest, RapidResponse } from '../core/types.js';
import { createAccessControl } from '../features/access/index.js';
import { createCgiHandler } from '../features/cgi/index.js';
import { createFastCgiHandler } from '../features/fastcgi/index.js';
import { createProxyHandler } from '../features/proxy/index.js';
import { createHeaderRules, createRedirects, createRewrites } from '../features/rules/index.js';
import type { TlsCertificate, TlsOptions } from '../server/tls.js';
import type { Config, FeatureName, HandlerConfig, ListenerConfig, SiteConfig } from './schema.js';

/** The handler shape every feature shares: calls next() for requests it does not take. */
export interface FeatureHandler {
  (req: RapidRequest, res: RapidResponse, next?: () => void | Promise<void>): void | Promise<void>;
  close?(): void | Promise<void>;
}

export interface FactoryContext {
  /** Relative paths in options are resolved against this (the config's baseDir). */
  readonly baseDir: string;
  readonly config: Config;
  /** The site being built (undefined for server-wide features). */
  readonly site?: SiteConfig;
}

type Of<T extends HandlerConfig['type']> = Omit<
  Extract<HandlerConfig, { type: T }>,
  'type' | 'path'
>;
type SiteRules<K extends 'headers' | 'redirects' | 'rewrites' | 'access'> = SiteConfig[K];

export interface FeatureFactories {
  fastcgi?: (options: Of<'fastcgi'> & { root: string }, ctx: FactoryContext) => FeatureHandler;
  cgi?: (options: Of<'cgi'> & { root: string }, ctx: FactoryContext) => FeatureHandler;
  proxy?: (options: Of<'proxy'>, ctx: FactoryContext) => FeatureHandler;
  access?: (rules: SiteRules<'access'>, ctx: FactoryContext) => FeatureHandler;
  headers?: (rules: SiteRules<'headers'>, ctx: FactoryContext) => FeatureHandler;
  redirects?: (rules: SiteRules<'redirects'>, ctx: FactoryContext) => FeatureHandler;
  rewrites?: (rules: SiteRules<'rewrites'>, ctx: FactoryContext) => FeatureHandler;
  /**
   * The status endpoint, the access log (server-wide and per site) and the error log are built
   * into serve() (src/server/observe.ts); the builder passes them to every listener
   * (src/config/observe.ts). `true` where this build has them.
   */
  status?: boolean;
  accessLog?: boolean;
  errorLog?: boolean;
  /** Extra serve() options for a listener with TLS / HTTP/2 settings (certificates by site). */
  tls?: (
    listener: ListenerConfig,
    sites: readonly SiteConfig[],
    ctx: FactoryContext,
  ) => Record<string, unknown>;
  http2?: (listener: ListenerConfig, ctx: FactoryContext) => Record<string, unknown>;
  /** Set (to true) by the process that can run workers (src/cluster, through the CLI). */
  workers?: boolean;
}

/** The features of this build. Each branch adds its line when it merges. */
export const factories: FeatureFactories = {
  fastcgi: (o, ctx) => createFastCgiHandler({ ...o, baseDir: ctx.baseDir }),
  cgi: (o, ctx) => createCgiHandler({ ...o, baseDir: ctx.baseDir }),
  proxy: (o) => createProxyHandler(o),
  tls: (listener, sites, ctx) => ({ tls: listenerTls(listener, sites, ctx.baseDir) }),
  http2: (listener) => ({
    http2: listener.http2,
    h2c: listener.h2c,
    http2Engine: listener.http2Engine,
  }),
  access: (rules, ctx) => createAccessControl(rules, { baseDir: ctx.baseDir }),
  headers: (rules) => createHeaderRules(rules),
  redirects: (rules) => createRedirects(rules),
  rewrites: (rules) => createRewrites(rules),
  accessLog: true,
  errorLog: true,
  status: true,
};

/**
 * serve()'s `tls` for a listener: its own certificate as the default, its `sni` table, and the
 * certificate of every site with `tls` under each of the site's names (a port in a name is
 * dropped; a site named "*" has no name to be picked by, so its certificate is the default when
 * the listener has none of its own).
 */
export function listenerTls(
  listener: ListenerConfig,
  sites: readonly SiteConfig[],
  baseDir: string,
): TlsOptions {
  const t = listener.tls!;
  const sni: Record<string, TlsCertificate> = {};
  for (const s of sites) {
    if (s.tls === undefined) continue;
    for (const n of [s.name, ...s.aliases]) {
      const name = n.replace(/:\d+$/, '').toLowerCase();
      // "*", "[::1]": nothing a client sends as SNI.
      if (!/^(\*\.)?[a-z0-9.-]+$/.test(name)) continue;
      sni[name] ??= { ...s.tls };
    }
  }
  Object.assign(sni, t.sni);
  return {
    cert: t.cert,
    key: t.key,
    passphrase: t.passphrase,
    ca: t.ca,
    minVersion: t.minVersion,
    ciphers: t.ciphers,
    sni,
    baseDir,
  };
}

/** Which features a table provides. */
export function availableFeatures(
  table: FeatureFactories = factories,
): (f: FeatureName) => boolean {
  return (f) => table[f] !== undefined && table[f] !== false;
}
