/**
 * The request an application handler sees: the native request underneath (`raw`), routing results,
 * and helpers computed only when read (query, cookies, client address...). Every field is
 * assigned in the constructor so all AppRequests share one hidden class (fastify's same-shape
 * rule); lazy values start as undefined/null and are filled on first use.
 */
import type { Readable } from 'node:stream';
import { E, RapidError } from '../core/errors.js';
import type { HttpVersion, RapidRequest } from '../core/types.js';
import type { Params } from '../router/types.js';
import { parseCookies, unsignCookie } from './cookies.js';
import { qualityOf } from './errors.js';
import { charsetOf, lookupType, mediaTypeOf, typeMatches } from './mime.js';
import { resolveProxy, type ProxyInfo } from './proxy.js';
import { parseQuery } from './query.js';
import type { Scope } from './scope.js';
import type { AppRequest, BodyParseContext, Query } from './types.js';

/** The params object of routes without parameters: shared, frozen, prototype-free. */
export const EMPTY_PARAMS: Params = Object.freeze(Object.create(null) as Params);

export class AppRequestImpl implements AppRequest {
  readonly raw: RapidRequest;
  readonly method: string;
  params: Params;
  /** The scope (app + inherited hooks and settings) currently handling the request. */
  scope: Scope;
  routePath: string;
  routePattern: string;
  private _query: Query | null;
  private _cookies: Record<string, string> | null;
  private _signed: Record<string, string> | null;
  private _proxy: ProxyInfo | null;
  private _locals: Record<string, unknown> | null;
  private _body: Promise<unknown> | null;

  constructor(raw: RapidRequest, scope: Scope, path: string) {
    this.raw = raw;
    this.method = raw.method;
    this.params = EMPTY_PARAMS;
    this.scope = scope;
    this.routePath = path;
    this.routePattern = '';
    this._query = null;
    this._cookies = null;
    this._signed = null;
    this._proxy = null;
    this._locals = null;
    this._body = null;
  }

  // --- the native request, forwarded -----------------------------------------------------------

  get url(): string {
    return this.raw.url;
  }
  get path(): string {
    return this.raw.path;
  }
  get search(): string {
    return this.raw.search;
  }
  get httpVersion(): HttpVersion {
    return this.raw.httpVersion;
  }
  get rawHeaders(): readonly string[] {
    return this.raw.rawHeaders;
  }
  get headers(): Readonly<Record<string, string>> {
    return this.raw.headers;
  }
  get host(): string {
    return this.raw.host;
  }
  get remoteAddress(): string {
    return this.raw.remoteAddress;
  }
  get remotePort(): number {
    return this.raw.remotePort;
  }
  get secure(): boolean {
    return this.raw.secure;
  }
  get contentLength(): number {
    return this.raw.contentLength;
  }
  get hasBody(): boolean {
    return this.raw.hasBody;
  }
  get trailers(): readonly string[] {
    return this.raw.trailers;
  }
  header(name: string): string | undefined {
    return this.raw.header(name);
  }
  body(): Promise<Buffer> {
    return this.raw.body();
  }
  text(): Promise<string> {
    return this.raw.text();
  }
  json<T = unknown>(): Promise<T> {
    return this.raw.json<T>();
  }
  stream(): Readable {
    return this.raw.stream();
  }
  [Symbol.asyncIterator](): AsyncIterator<Buffer> {
    return this.raw[Symbol.asyncIterator]();
  }

  // --- helpers ---------------------------------------------------------------------------------

  get query(): Query {
    return (this._query ??= parseQuery(this.raw.search, this.scope.settings.queryLimit));
  }

  get cookies(): Record<string, string> {
    return (this._cookies ??= parseCookies(this.raw.header('cookie')));
  }

  get signedCookies(): Record<string, string> {
    if (this._signed === null) {
      const out = Object.create(null) as Record<string, string>;
      const secrets = this.scope.settings.cookieSecrets;
      if (secrets !== null) {
        const all = this.cookies;
        for (const name in all) {
          const v = unsignCookie(all[name] as string, secrets);
          if (v !== false) out[name] = v;
        }
      }
      this._signed = out;
    }
    return this._signed;
  }

  private get proxy(): ProxyInfo | null {
    const trust = this.scope.settings.trust;
    if (trust === null) return null;
    return (this._proxy ??= resolveProxy(this.raw.remoteAddress, trust, (n) => this.raw.header(n)));
  }

  get ip(): string {
    const p = this.proxy;
    return p === null ? this.raw.remoteAddress : p.ip;
  }

  get ips(): readonly string[] {
    const p = this.proxy;
    return p === null ? [] : p.ips;
  }

  get protocol(): 'http' | 'https' {
    const p = this.proxy;
    if (p !== null && (p.proto === 'https' || p.proto === 'http')) return p.proto;
    return this.raw.secure ? 'https' : 'http';
  }

  get hostname(): string {
    const p = this.proxy;
    const host = p !== null && p.host !== '' ? p.host : this.raw.host;
    return stripPort(host);
  }

  get locals(): Record<string, unknown> {
    return (this._locals ??= Object.create(null) as Record<string, unknown>);
  }

  parseBody<T = unknown>(): Promise<T> {
    if (this._body === null) this._body = this.runParser();
    return this._body as Promise<T>;
  }

  private runParser(): Promise<unknown> {
    const raw = this.raw;
    if (!raw.hasBody) return Promise.resolve(undefined);
    const contentType = raw.header('content-type') ?? '';
    const mediaType = mediaTypeOf(contentType);
    const settings = this.scope.settings;
    for (const parser of settings.bodyParsers) {
      for (const t of parser.types) {
        if (typeMatches(t, mediaType)) {
          const ctx: BodyParseContext = {
            mediaType,
            charset: charsetOf(contentType),
            contentType,
            limit: parser.limit ?? settings.bodyLimit,
          };
          try {
            return parser.parse(raw, ctx);
          } catch (err) {
            return Promise.reject(err);
          }
        }
      }
    }
    return Promise.reject(
      new RapidError(E.BODY_UNSUPPORTED_TYPE, mediaType === '' ? 'no Content-Type' : mediaType),
    );
  }

  accepts(...types: string[]): string | false {
    if (types.length === 0) return false;
    const accept = this.raw.header('accept');
    if (accept === undefined || accept === '') return types[0] as string;
    let best: string | false = false;
    let bestQ = 0;
    for (const t of types) {
      const mt = mediaTypeOf(lookupType(t) || t);
      const slash = mt.indexOf('/');
      if (slash === -1) continue;
      const q = qualityOf(accept, mt.slice(0, slash), mt.slice(slash + 1));
      if (q > bestQ) {
        best = t;
        bestQ = q;
      }
    }
    return best;
  }
}

/** "example.com:8080" -> "example.com", "[::1]:80" -> "[::1]". */
export function stripPort(host: string): string {
  if (host.charCodeAt(0) === 0x5b) {
    const end = host.indexOf(']');
    return end === -1 ? host : host.slice(0, end + 1);
  }
  const colon = host.indexOf(':');
  return colon === -1 ? host : host.slice(0, colon);
}
