/**
 * The application layer's contracts: what handlers, middleware and hooks look like, the request
 * and response an app hands them, and the body-parser interface that src/app/body/* implements.
 * This file declares types only, so every other part of src/app (and body parsers written by
 * others) can build against it without importing the implementation.
 */
import type { HeaderValue, RapidRequest, RapidResponse } from '../core/types.js';
import type { Params } from '../router/types.js';

// ---------------------------------------------------------------------------------------------
// Body parsers (implemented in src/app/body/*; registered with createApp({ bodyParsers }))
// ---------------------------------------------------------------------------------------------

/**
 * What a body parser is told about the request it parses. Built once per `req.parseBody()` call,
 * only when a handler asks for the body.
 */
export interface BodyParseContext {
  /** The Content-Type media type, lowercased, without parameters ("" when absent). */
  readonly mediaType: string;
  /** The `charset` parameter of Content-Type, lowercased ("" when absent). */
  readonly charset: string;
  /** The whole Content-Type field value as sent ("" when absent). */
  readonly contentType: string;
  /**
   * Largest body in bytes this parse may accept: the parser's own limit, else the app's
   * `bodyLimit`. Past it the parser rejects with a 413 (RAPID_ERR_BODY_TOO_LARGE or its own
   * catalog entry). The engine's `limits.maxBodyBytes` still applies underneath.
   */
  readonly limit: number;
}

/**
 * A body parser: the media types it handles and a parse function. `req.parseBody()` picks the
 * first registered parser whose `types` match the request's Content-Type and awaits `parse`.
 *
 * `types` entries are lowercase media types without parameters: exact (`application/json`), a
 * structured-syntax suffix (`application/*+json`, RFC 6838 §4.2.8), a top-level wildcard
 * (`text/*`) or anything (`*\/*`).
 *
 * `parse` reads the body through the native API (`req.body()`, `req.stream()`, async iteration),
 * and rejects with a RapidError (or HttpError) carrying the right status: 413 too large, 415
 * unsupported (e.g. a charset it cannot decode), 400 malformed. It must not throw synchronously.
 */
export interface BodyParser {
  readonly types: readonly string[];
  /** This parser's body limit in bytes (default: the app's `bodyLimit`); passed as ctx.limit. */
  readonly limit?: number;
  parse(req: RapidRequest, ctx: BodyParseContext): Promise<unknown>;
}

// ---------------------------------------------------------------------------------------------
// Handlers, middleware, hooks
// ---------------------------------------------------------------------------------------------

/**
 * A route handler. Return a value instead of sending and the app sends it (string -> text/plain,
 * Buffer/Uint8Array -> application/octet-stream, other objects -> JSON, null -> 204); see
 * docs/app.md "Returned values".
 */
export type AppHandler = (req: AppRequest, res: AppResponse) => unknown;

/** Run the rest of the chain; resolves once everything after this middleware has finished. */
export type Next = () => Promise<void>;

/** Middleware (`use()`, and every handler of a route but the last): call `await next()` to go on. */
export type Middleware = (req: AppRequest, res: AppResponse, next: Next) => unknown;

/** onRequest / preHandler / onResponse hooks. A hook that sends a response ends the request. */
export type RequestHook = (req: AppRequest, res: AppResponse) => unknown;

/** onSend hook: may return a replacement payload (or a promise of one); undefined keeps it. */
export type SendHook = (req: AppRequest, res: AppResponse, payload: Payload) => unknown;

/** onError hook: observes (logs) an error before it is rendered; may send its own response. */
export type ErrorHook = (err: unknown, req: AppRequest, res: AppResponse) => unknown;

/** The error handler (`app.setErrorHandler`): renders an error as a response. */
export type ErrorHandler = (err: unknown, req: AppRequest, res: AppResponse) => unknown;

/** What `res.send()` carries through onSend hooks to the wire. */
export type Payload = string | Uint8Array | null;

export type HookName = 'onRequest' | 'preHandler' | 'onSend' | 'onResponse' | 'onError';

/** Sends a file for `res.sendFile()`. Injected through createApp({ sendFile }) by src/server or
 * src/index (the app layer cannot import src/features/static). */
export type FileSender = (
  req: RapidRequest,
  res: RapidResponse,
  path: string,
  options?: SendFileOptions,
) => void | Promise<void>;

export interface SendFileOptions {
  /** Resolve `path` against this directory and refuse to leave it. */
  root?: string;
  /** Cache-Control max-age in seconds. */
  maxAge?: number;
  /** Extra response headers. */
  headers?: Record<string, HeaderValue>;
  /** Content-Disposition: attachment with this file name. */
  attachment?: string;
  [option: string]: unknown;
}

// ---------------------------------------------------------------------------------------------
// Request and response
// ---------------------------------------------------------------------------------------------

/** Query values: one string, or an array for repeated keys (`?a=1&a=2`). */
export type Query = Record<string, string | string[]>;

/** The request a handler sees: the native request's API plus routing results and helpers. */
export interface AppRequest extends RapidRequest {
  /** The native request underneath (what body parsers and fetch adapters take). */
  readonly raw: RapidRequest;
  /** Decoded route parameters (read-only; a shared empty object when the route has none). */
  params: Params;
  /** Parsed query string (prototype-free; repeated keys as arrays); parsed once, on first use. */
  readonly query: Query;
  /** Request cookies (parsed once, on first use). */
  readonly cookies: Record<string, string>;
  /** Cookies signed with the app's `cookieSecret` whose signature verifies (tampered ones are
   * left out). */
  readonly signedCookies: Record<string, string>;
  /** The client address: the peer, or with `trustProxy` the first untrusted hop. */
  readonly ip: string;
  /** The forwarded chain, client first, as far as it is trusted (empty without a proxy). */
  readonly ips: readonly string[];
  /** 'https' or 'http' (X-Forwarded-Proto / Forwarded proto= when the peer is trusted). */
  readonly protocol: 'http' | 'https';
  /** The host name without port (X-Forwarded-Host / Forwarded host= when the peer is trusted). */
  readonly hostname: string;
  /** The path below the mount point of the app handling the request (the full path at the root). */
  readonly routePath: string;
  /** The route pattern that matched ("" for 404/405 handling). */
  readonly routePattern: string;
  /** Per-request storage for middleware (prototype-free; created on first use). */
  readonly locals: Record<string, unknown>;
  /**
   * Parse the body with the registered parser for its Content-Type; cached (the second call returns
   * the same promise). Resolves undefined when the request has no body; rejects with 415 when no
   * parser takes the type (RAPID_ERR_BODY_UNSUPPORTED_TYPE).
   */
  parseBody<T = unknown>(): Promise<T>;
  /** Whether the Accept header prefers `type` (e.g. 'json', 'html', 'application/json'). */
  accepts(...types: string[]): string | false;
}

export interface CookieOptions {
  /** Max-Age in seconds (RFC 6265 §5.2.2); 0 or negative expires the cookie at once. */
  maxAge?: number;
  expires?: Date;
  path?: string;
  domain?: string;
  secure?: boolean;
  httpOnly?: boolean;
  sameSite?: 'Strict' | 'Lax' | 'None' | 'strict' | 'lax' | 'none' | boolean;
  /** CHIPS partitioned cookie (requires Secure). */
  partitioned?: boolean;
  priority?: 'Low' | 'Medium' | 'High';
  /** Sign the value with the app's cookieSecret (read back through req.signedCookies). */
  signed?: boolean;
  /** Encoder of the value (default encodeURIComponent). */
  encode?: (value: string) => string;
}

/** The response a handler sees: the native response's API plus helpers. */
export interface AppResponse extends RapidResponse {
  /** The native response underneath. */
  readonly raw: RapidResponse;
  /** True once the app or the handler has sent (or started sending) a response. */
  readonly sent: boolean;
  /** Set Content-Type: a full type, or a short name/extension ('json', 'html', '.txt'). */
  type(mime: string): this;
  /** Redirect (default 302 Found) with a tiny body; Location is set as given. */
  redirect(url: string, status?: number): void;
  cookie(name: string, value: string, options?: CookieOptions): this;
  clearCookie(name: string, options?: CookieOptions): this;
  /** Send a file through the injected file sender (createApp({ sendFile })). */
  sendFile(path: string, options?: SendFileOptions): Promise<void>;
}
