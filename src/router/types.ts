/**
 * The router contract. Every router implementation (today the radix tree in radix.ts) implements
 * `Router<T>` and passes the one shared contract suite, test/unit/router/contract.ts. `T` is
 * whatever the application stores per route (a handler, a compiled hook chain, a sub-app).
 */

/** Route parameters: a prototype-free object, so `params.constructor` or `'toString' in params`
 * never reach Object.prototype. Values are percent-decoded. */
export type Params = Record<string, string>;

/** The method name that registers a route for every method. */
export const ANY_METHOD = 'ALL';

export interface RouterOptions {
  /**
   * Match static text case-sensitively (default true; RFC 3986 §6.2.2.1 says only the scheme
   * and host are case-insensitive). When false, ASCII letters of static text fold; parameter
   * values keep the case they arrived in.
   */
  caseSensitive?: boolean;
  /**
   * `'strict'` (default): "/a" and "/a/" are different paths. `'ignore'`: each route also answers
   * with the trailing slash toggled. `'redirect'`: a path that misses but exists with the slash
   * toggled gets a `redirect` result whose `location` the application sends in a 301/308.
   */
  trailingSlash?: 'strict' | 'ignore' | 'redirect';
  /** Longest value, in characters of the decoded path, a `:param` may take (default 1024). A
   * longer one does not match. Bounds the input every regex constraint sees. */
  maxParamLength?: number;
}

/** One registered route, as given (also what `routes()` lists). */
export interface RouteInfo<T> {
  /** The method as registered (`'ALL'` for any method; `'ALL'` too for mounts). */
  readonly method: string;
  /** The path pattern as registered. */
  readonly path: string;
  readonly store: T;
  /** Parameter names in path order (`'*'` for a wildcard). */
  readonly paramNames: readonly string[];
  /** True for a prefix mount (`mount()`): the route matches the prefix and everything below. */
  readonly mount: boolean;
}

export interface Found<T> {
  readonly kind: 'found';
  readonly store: T;
  /** Percent-decoded parameters. For routes without parameters this is one shared frozen empty
   * object: treat params as read-only. */
  readonly params: Params;
  readonly route: RouteInfo<T>;
  /** For a mount: the rest of the raw (undecoded) path after the prefix, always starting with
   * "/" ("/" when the request was the prefix itself). null for ordinary routes. */
  readonly rest: string | null;
}

export interface NotFound {
  readonly kind: 'not-found';
}

/** The path exists for other methods: answer 405 with this `Allow` value (RFC 9110 §15.5.6). */
export interface MethodNotAllowed {
  readonly kind: 'method-not-allowed';
  readonly allow: string;
}

/** An OPTIONS request for a path with no OPTIONS route: answer 204 with `Allow` (RFC 9110 §9.3.7). */
export interface OptionsAllowed {
  readonly kind: 'options';
  readonly allow: string;
}

/** trailingSlash 'redirect' only: the path exists with its trailing slash toggled. `location` is
 * the raw path to redirect to (append the query); send 301 for GET/HEAD, 308 otherwise. */
export interface Redirect {
  readonly kind: 'redirect';
  readonly location: string;
}

/** The path holds a malformed percent-escape or percent-encoded bytes that are not UTF-8: 400. */
export interface BadUrl {
  readonly kind: 'bad-url';
}

export type RouteMatch<T> =
  Found<T> | NotFound | MethodNotAllowed | OptionsAllowed | Redirect | BadUrl;

export interface Router<T> {
  /** A short name for diagnostics and benchmarks. */
  readonly name: string;
  /**
   * Register `store` for `method` (or several, or `'ALL'`) on `path`. Throws RapidError
   * RAPID_ERR_ROUTER_INVALID_PATH / RAPID_ERR_ROUTER_INVALID_METHOD for a malformed pattern or
   * method and RAPID_ERR_ROUTER_CONFLICT when the route collides with one already registered.
   */
  add(method: string | readonly string[], path: string, store: T): void;
  /** Register `store` for every method on `prefix` and everything below it (a "stem" for a
   * sub-application, which sees `rest`). `prefix` may hold parameters, not a wildcard. */
  mount(prefix: string, store: T): void;
  /**
   * Look up the raw, undecoded path (no query) for `method`. Never throws; decodes the path once.
   */
  find(method: string, path: string): RouteMatch<T>;
  /** The methods `path` answers, sorted, with HEAD for GET and OPTIONS when anything matches; `ALL`
   * among them when an any-method route or a mount matches. Empty for no match or a bad URL. */
  allowedMethods(path: string): string[];
  /** Every registration in order. */
  routes(): readonly RouteInfo<T>[];
}

/** Makes a router; the shape the contract suite and the benchmarks take. */
export type RouterFactory = <T>(options?: RouterOptions) => Router<T>;
