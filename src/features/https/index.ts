/**
 * HTTPS policy per site (docs/tls.md): redirect cleartext requests to HTTPS, and the HSTS header
 * on HTTPS responses. Both are feature handlers with the static handler's signature, so a site
 * or path can use them as middleware; serve({ redirectToHttps, hsts }) applies them server-wide.
 */
import { E, RapidError } from '../../core/errors.js';
import type { RapidRequest, RapidResponse } from '../../core/types.js';

export type FeatureNext = () => void | Promise<void>;

export interface FeatureHandler {
  (req: RapidRequest, res: RapidResponse, next?: FeatureNext): void | Promise<void>;
  close(): void;
}

export interface HttpsRedirectOptions {
  /** The HTTPS port to send clients to (default 443, which is left out of the URL). */
  port?: number;
}

export interface HstsOptions {
  /** Seconds the browser should remember to use HTTPS only (e.g. 31536000 = one year). */
  maxAge: number;
  includeSubDomains?: boolean;
  /** Ask to be included in browsers' preload lists (needs includeSubDomains and a year). */
  preload?: boolean;
}

function invalid(msg: string): never {
  throw new RapidError(E.TLS_INVALID_OPTION, msg);
}

function checkPort(port: unknown): number {
  if (port === undefined) return 443;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535)
    invalid(`redirectToHttps.port must be a port number (1-65535), got ${String(port)}`);
  return port;
}

/**
 * Where a cleartext request should go: https://host[:port]<target>, the Host's own port dropped.
 * Null when the request has no usable host.
 */
export function httpsLocation(req: RapidRequest, port = 443): string | null {
  let host = req.host;
  if (host === '') return null;
  if (host.charCodeAt(0) === 0x5b /* [ */) {
    const end = host.indexOf(']');
    if (end === -1) return null;
    host = host.slice(0, end + 1);
  } else {
    const colon = host.indexOf(':');
    if (colon !== -1) host = host.slice(0, colon);
  }
  if (host === '' || /[^A-Za-z0-9.\-[\]:]/.test(host)) return null;
  const target = req.path + req.search;
  const path = target.charCodeAt(0) === 0x2f ? target : '/';
  return `https://${host}${port === 443 ? '' : `:${port}`}${path}`;
}

/** Send the redirect for a cleartext request: 301 for GET/HEAD, 308 (method kept) otherwise. */
export function redirectToHttps(req: RapidRequest, res: RapidResponse, port = 443): void {
  const location = httpsLocation(req, port);
  if (location === null) {
    res
      .status(E.TLS_REDIRECT_NO_HOST.status)
      .setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.send(`${E.TLS_REDIRECT_NO_HOST.message}\n`);
    return;
  }
  const safe = req.method === 'GET' || req.method === 'HEAD';
  res.status(safe ? 301 : 308).setHeader('Location', location);
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.send(`Moved to ${location}\n`);
}

/** A feature handler: cleartext requests are redirected, HTTPS ones go to `next`. */
export function createHttpsRedirect(opts: HttpsRedirectOptions | true = {}): FeatureHandler {
  const port = checkPort(opts === true ? undefined : opts.port);
  const h = (req: RapidRequest, res: RapidResponse, next?: FeatureNext): void | Promise<void> => {
    if (!req.secure) return redirectToHttps(req, res, port);
    if (next !== undefined) return next();
    res.status(404).send('Not Found\n');
  };
  return Object.assign(h, { close(): void {} });
}

/** The Strict-Transport-Security value (RFC 6797 §6.1), validated. */
export function hstsValue(opts: HstsOptions): string {
  if (opts === null || typeof opts !== 'object') invalid('hsts must be { maxAge, ... }');
  const { maxAge, includeSubDomains, preload } = opts;
  if (typeof maxAge !== 'number' || !Number.isInteger(maxAge) || maxAge < 0)
    invalid(`hsts.maxAge must be a whole number of seconds, got ${String(maxAge)}`);
  if (includeSubDomains !== undefined && typeof includeSubDomains !== 'boolean')
    invalid('hsts.includeSubDomains must be a boolean');
  if (preload !== undefined && typeof preload !== 'boolean')
    invalid('hsts.preload must be a boolean');
  if (preload === true && (includeSubDomains !== true || maxAge < 31536000))
    invalid('hsts.preload needs includeSubDomains: true and maxAge of at least 31536000');
  let v = `max-age=${maxAge}`;
  if (includeSubDomains === true) v += '; includeSubDomains';
  if (preload === true) v += '; preload';
  return v;
}

/** A feature handler: HTTPS responses get Strict-Transport-Security (never cleartext ones,
 * RFC 6797 §7.2), then `next` runs. */
export function createHsts(opts: HstsOptions): FeatureHandler {
  const value = hstsValue(opts);
  const h = (req: RapidRequest, res: RapidResponse, next?: FeatureNext): void | Promise<void> => {
    if (req.secure) res.setHeader('Strict-Transport-Security', value);
    if (next !== undefined) return next();
    res.status(404).send('Not Found\n');
  };
  return Object.assign(h, { close(): void {} });
}

/** Wrap a handler with the server-wide policy of serve({ redirectToHttps, hsts }). */
export function withHttpsPolicy<H extends (req: RapidRequest, res: RapidResponse) => unknown>(
  handler: H | undefined,
  redirect: HttpsRedirectOptions | boolean | undefined,
  hsts: HstsOptions | undefined,
): ((req: RapidRequest, res: RapidResponse) => unknown) | undefined {
  let h: ((req: RapidRequest, res: RapidResponse) => unknown) | undefined = handler;
  if (hsts !== undefined) {
    const value = hstsValue(hsts);
    const inner = h;
    if (inner !== undefined)
      h = (req, res) => {
        if (req.secure) res.setHeader('Strict-Transport-Security', value);
        return inner(req, res);
      };
  }
  if (redirect !== undefined && redirect !== false) {
    const port = checkPort(redirect === true ? undefined : redirect.port);
    const inner = h;
    h = (req, res) => {
      if (!req.secure) return redirectToHttps(req, res, port);
      if (inner !== undefined) return inner(req, res);
      res.status(404).send('Not Found\n');
    };
  }
  return h;
}
