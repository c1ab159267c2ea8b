/**
 * Typed HTTP errors and how the app renders any error as a response.
 *
 * `throw new HttpError(404)` or `throw httpErrors.notFound('no such user')` anywhere in a handler,
 * middleware or hook; the app answers with that status, as JSON or text by Accept. Errors from the
 * catalog (RapidError) keep their code and status; anything else is a 500. A message is shown when
 * the error is exposed (4xx by default) or when the app is not in production; stack traces never
 * leave the process.
 */
import { E, RapidError } from '../core/errors.js';
import { statusText } from '../core/status.js';
import type { HeaderValue } from '../core/types.js';

export interface HttpErrorOptions {
  /** Show the message to the client (default: status < 500). */
  expose?: boolean;
  cause?: unknown;
  /** Header fields sent with the error response (e.g. WWW-Authenticate, Retry-After, Allow). */
  headers?: Record<string, HeaderValue>;
  /** A stable machine-readable code for the JSON body (default RAPID_ERR_APP_HTTP_ERROR). */
  code?: string;
}

const kHttpError = Symbol.for('rapid.httpError');

/** An error with an HTTP status, thrown by application code. `instanceof` works across copies. */
export class HttpError extends Error {
  readonly status: number;
  readonly statusCode: number;
  readonly code: string;
  readonly expose: boolean;
  readonly headers: Record<string, HeaderValue> | null;

  constructor(status: number, message?: string, options?: HttpErrorOptions) {
    const s = Number.isInteger(status) && status >= 400 && status <= 599 ? status : 500;
    super(message ?? statusText(s), options?.cause !== undefined ? { cause: options.cause } : {});
    this.name = 'HttpError';
    this.status = s;
    this.statusCode = s;
    this.code = options?.code ?? E.APP_HTTP_ERROR.code;
    this.expose = options?.expose ?? s < 500;
    this.headers = options?.headers ?? null;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return (
      typeof value === 'object' &&
      value !== null &&
      (value as { [kHttpError]?: boolean })[kHttpError] === true
    );
  }
}
Object.defineProperty(HttpError.prototype, kHttpError, { value: true });

type Maker = (message?: string, options?: HttpErrorOptions) => HttpError;
const make =
  (status: number): Maker =>
  (message, options) =>
    new HttpError(status, message, options);

/** Shorthands: `throw httpErrors.notFound()`, `httpErrors.unauthorized('token expired')`. */
export const httpErrors = Object.freeze({
  badRequest: make(400),
  unauthorized: make(401),
  paymentRequired: make(402),
  forbidden: make(403),
  notFound: make(404),
  methodNotAllowed: make(405),
  notAcceptable: make(406),
  requestTimeout: make(408),
  conflict: make(409),
  gone: make(410),
  lengthRequired: make(411),
  preconditionFailed: make(412),
  payloadTooLarge: make(413),
  uriTooLong: make(414),
  unsupportedMediaType: make(415),
  rangeNotSatisfiable: make(416),
  expectationFailed: make(417),
  imATeapot: make(418),
  misdirectedRequest: make(421),
  unprocessableEntity: make(422),
  locked: make(423),
  failedDependency: make(424),
  tooEarly: make(425),
  upgradeRequired: make(426),
  preconditionRequired: make(428),
  tooManyRequests: make(429),
  requestHeaderFieldsTooLarge: make(431),
  unavailableForLegalReasons: make(451),
  internalServerError: make(500),
  notImplemented: make(501),
  badGateway: make(502),
  serviceUnavailable: make(503),
  gatewayTimeout: make(504),
  httpVersionNotSupported: make(505),
  /** Any status: `httpErrors.create(418, 'short and stout')`. */
  create: (status: number, message?: string, options?: HttpErrorOptions): HttpError =>
    new HttpError(status, message, options),
});

/** What the client is told about an error. */
export interface ErrorInfo {
  status: number;
  code: string;
  message: string;
  headers: Record<string, HeaderValue> | null;
}

/**
 * Classify an error: its status (HttpError/RapidError, or any error with a numeric 4xx/5xx
 * `status`/`statusCode`, as http-errors and undici produce; else 500), its code, and the message
 * the client may see.
 */
export function describeError(err: unknown, production: boolean): ErrorInfo {
  let status = 500;
  let code: string = E.HANDLER_FAILED.code;
  let expose = false;
  let headers: Record<string, HeaderValue> | null = null;
  let message = '';
  if (err instanceof HttpError) {
    status = err.status;
    code = err.code;
    expose = err.expose;
    headers = err.headers;
    message = err.message;
  } else if (err instanceof RapidError) {
    status = err.statusCode;
    code = err.code;
    expose = err.expose;
    message = err.message;
  } else if (typeof err === 'object' && err !== null) {
    const o = err as { status?: unknown; statusCode?: unknown; expose?: unknown; code?: unknown };
    const s = o.statusCode ?? o.status;
    if (typeof s === 'number' && Number.isInteger(s) && s >= 400 && s <= 599) {
      status = s;
      expose = typeof o.expose === 'boolean' ? o.expose : s < 500;
      if (typeof o.code === 'string' && o.code !== '') code = o.code;
      else code = E.APP_HTTP_ERROR.code;
    }
    message = err instanceof Error ? err.message : '';
  }
  // In production only exposed messages (4xx by default) reach the client, so a 5xx says no
  // more than its status text; in development any message (never the stack) helps debugging.
  if (message === '' || !(expose || !production)) message = statusText(status);
  return { status, code, message, headers };
}

/**
 * Whether the client prefers JSON over plain text (RFC 9110 §12.5.1). No Accept, or one that
 * ranks JSON at least as high as text/plain and text/html, gets JSON: curl and fetch (both send
 * "*\/*") get JSON, a browser (text/html first) gets text.
 */
export function prefersJson(accept: string | undefined): boolean {
  if (accept === undefined || accept === '') return true;
  const json = qualityOf(accept, 'application', 'json');
  if (json === 0) return false;
  return json >= qualityOf(accept, 'text', 'plain') && json >= qualityOf(accept, 'text', 'html');
}

/** The q of the most specific Accept range matching type/subtype (0 when none does; RFC 9110
 * §12.5.1: the most specific range decides). */
export function qualityOf(accept: string, type: string, subtype: string): number {
  let best = -1;
  let bestSpecificity = -1;
  let start = 0;
  while (start <= accept.length) {
    let end = accept.indexOf(',', start);
    if (end === -1) end = accept.length;
    const range = accept.slice(start, end);
    start = end + 1;
    const semi = range.indexOf(';');
    const mt = (semi === -1 ? range : range.slice(0, semi)).trim().toLowerCase();
    const slash = mt.indexOf('/');
    if (slash === -1) continue;
    const t = mt.slice(0, slash);
    const st = mt.slice(slash + 1);
    let specificity: number;
    if (t === type && st === subtype) specificity = 2;
    else if (t === type && st === '*') specificity = 1;
    else if (t === '*' && st === '*') specificity = 0;
    else continue;
    if (specificity < bestSpecificity) continue;
    let q = 1;
    if (semi !== -1) {
      const m = /;\s*q\s*=\s*([0-9.]+)/i.exec(range.slice(semi));
      if (m !== null) {
        q = Number(m[1]);
        if (!(q >= 0 && q <= 1)) q = 0;
      }
    }
    best = q;
    bestSpecificity = specificity;
  }
  return best < 0 ? 0 : best;
}

/** The JSON error body: {"error":{"status":404,"code":"...","message":"..."}}. */
export function errorJson(info: ErrorInfo): string {
  return JSON.stringify({
    error: { status: info.status, code: info.code, message: info.message },
  });
}
