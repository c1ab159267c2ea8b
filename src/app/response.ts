/**
 * The response an application handler sees: the native response underneath (`raw`) plus helpers.
 *
 * Whole payloads (`send`, `json`, returned values, error pages) pass through the onSend hooks of
 * the scope handling the request, when there are any; without hooks `send` is a direct call to
 * the native `send`, one head-and-body write. Streamed bodies (`write`/`end`/`stream`), prepared
 * responses and files skip onSend (there is no whole payload to hand a hook). onResponse hooks run
 * once, after the response has been handed to the engine in full.
 */
import type { Readable } from 'node:stream';
import { E, RapidError } from '../core/errors.js';
import { statusText } from '../core/status.js';
import type { HeadHook, HeaderValue, PreparedResponse, RapidResponse } from '../core/types.js';
import { serializeCookie, signCookie } from './cookies.js';
import { sendFailed } from './dispatch.js';
import { lookupType } from './mime.js';
import type { AppRequestImpl } from './request.js';
import type { AppResponse, CookieOptions, Payload, SendFileOptions } from './types.js';

const TEXT = 'text/plain; charset=utf-8';
const JSON_TYPE = 'application/json; charset=utf-8';
const OCTETS = 'application/octet-stream';

export class AppResponseImpl implements AppResponse {
  readonly raw: RapidResponse;
  readonly req: AppRequestImpl;
  sent: boolean;
  /** True while a payload is going through onSend hooks (errors there skip the hooks). */
  sending: boolean;
  private responded: boolean;

  constructor(raw: RapidResponse, req: AppRequestImpl) {
    this.raw = raw;
    this.req = req;
    this.sent = false;
    this.sending = false;
    this.responded = false;
  }

  // --- the native response, forwarded ----------------------------------------------------------

  get statusCode(): number {
    return this.raw.statusCode;
  }
  set statusCode(code: number) {
    this.raw.status(code);
  }
  get headersSent(): boolean {
    return this.raw.headersSent;
  }
  get finished(): boolean {
    return this.raw.finished;
  }
  status(code: number): this {
    this.raw.status(code);
    return this;
  }
  setHeader(name: string, value: HeaderValue): this {
    this.raw.setHeader(name, value);
    return this;
  }
  /** Alias of setHeader (Fastify/Express spelling). */
  header(name: string, value: HeaderValue): this {
    this.raw.setHeader(name, value);
    return this;
  }
  appendHeader(name: string, value: HeaderValue): this {
    this.raw.appendHeader(name, value);
    return this;
  }
  getHeader(name: string): string | undefined {
    return this.raw.getHeader(name);
  }
  hasHeader(name: string): boolean {
    return this.raw.hasHeader(name);
  }
  removeHeader(name: string): this {
    this.raw.removeHeader(name);
    return this;
  }
  drain(): Promise<void> {
    return this.raw.drain();
  }
  onHead(hook: HeadHook): this {
    this.raw.onHead(hook);
    return this;
  }

  // --- whole payloads --------------------------------------------------------------------------

  private claim(): void {
    if (this.sent) throw new RapidError(E.RESPONSE_ALREADY_SENT);
    this.sent = true;
  }

  send(body?: string | Uint8Array | null): void {
    this.claim();
    this.deliver(body ?? null);
  }

  /** Hand a payload to onSend hooks (if any) and then to the engine. `sent` is already set. */
  deliver(payload: Payload): void {
    const hooks = this.req.scope.onSend;
    if (hooks === null || this.sending) {
      this.raw.send(payload);
      this.responded_();
      return;
    }
    this.sending = true;
    void this.runOnSend(hooks, payload);
  }

  private async runOnSend(hooks: readonly SendHookFn[], payload: Payload): Promise<void> {
    try {
      for (let i = 0; i < hooks.length; i++) {
        let r = (hooks[i] as SendHookFn)(this.req, this, payload);
        if (
          r !== null &&
          typeof r === 'object' &&
          typeof (r as Promise<unknown>).then === 'function'
        ) {
          r = await r;
        }
        if (r !== undefined) payload = toPayload(r);
      }
    } catch (err) {
      // The error page goes out without onSend (this.sending stays true): a hook that fails on
      // every payload must not fail its own error page forever.
      sendFailed(this.req, this, err);
      return;
    }
    this.raw.send(payload);
    this.responded_();
  }

  json(value: unknown): void {
    if (!this.raw.hasHeader('content-type')) this.raw.setHeader('Content-Type', JSON_TYPE);
    this.send(JSON.stringify(value) ?? null);
  }

  /** Set Content-Type from a short name ('json', 'html', '.png') or a full type. */
  type(mime: string): this {
    this.raw.setHeader('Content-Type', lookupType(mime) || OCTETS);
    return this;
  }

  /**
   * Redirect to `url` (RFC 9110 §10.2.2, §15.4). Characters a URI cannot hold (spaces, non-ASCII,
   * controls) are percent-encoded; existing escapes are kept. The body is one short line of text.
   */
  redirect(url: string, status = 302): void {
    if (!Number.isInteger(status) || status < 300 || status > 399) {
      throw new RapidError(E.APP_INVALID_REDIRECT, `status ${String(status)}`);
    }
    if (typeof url !== 'string' || url === '') {
      throw new RapidError(E.APP_INVALID_REDIRECT, 'empty location');
    }
    const location = encodeUrl(url);
    this.raw.status(status);
    this.raw.setHeader('Location', location);
    this.raw.setHeader('Content-Type', TEXT);
    this.send(`${statusText(status)}. Redirecting to ${location}\n`);
  }

  /** Send the app's representation of "nothing": 204, or the status set, with no body. */
  empty(): void {
    if (this.raw.statusCode === 200) this.raw.status(204);
    this.send(null);
  }

  /**
   * Send a value returned by a handler: string -> text/plain, bytes -> application/octet-stream,
   * a Readable or async iterable -> streamed, null -> empty (204), anything else -> JSON.
   * A Content-Type set by the handler is kept.
   */
  sendValue(value: unknown): void | Promise<void> {
    if (typeof value === 'string') {
      if (!this.raw.hasHeader('content-type')) this.raw.setHeader('Content-Type', TEXT);
      this.send(value);
    } else if (value === null) {
      this.empty();
    } else if (value instanceof Uint8Array) {
      if (!this.raw.hasHeader('content-type')) this.raw.setHeader('Content-Type', OCTETS);
      this.send(value);
    } else if (
      typeof value === 'object' &&
      (typeof (value as Readable).pipe === 'function' ||
        typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function')
    ) {
      if (!this.raw.hasHeader('content-type')) this.raw.setHeader('Content-Type', OCTETS);
      return this.stream(value as Readable);
    } else {
      this.json(value);
    }
  }

  // --- streams, prepared responses and files (no onSend) ---------------------------------------

  write(chunk: string | Uint8Array): boolean {
    this.sent = true;
    return this.raw.write(chunk);
  }

  end(chunk?: string | Uint8Array | null): void {
    if (!this.sent) {
      this.send(chunk);
      return;
    }
    this.raw.end(chunk);
    this.responded_();
  }

  async stream(source: Readable | AsyncIterable<string | Uint8Array>): Promise<void> {
    this.sent = true;
    await this.raw.stream(source);
    this.responded_();
  }

  sendPrepared(prepared: PreparedResponse): void {
    this.claim();
    this.raw.sendPrepared(prepared);
    this.responded_();
  }

  async sendFile(path: string, options?: SendFileOptions): Promise<void> {
    const sender = this.req.scope.settings.sendFile;
    if (sender === null) throw new RapidError(E.APP_SEND_FILE_UNAVAILABLE);
    this.claim();
    await sender(this.req.raw, this.raw, path, options);
    this.responded_();
  }

  // --- cookies ---------------------------------------------------------------------------------

  cookie(name: string, value: string, options?: CookieOptions): this {
    let v = String(value);
    if (options?.signed) {
      const secrets = this.req.scope.settings.cookieSecrets;
      if (secrets === null) throw new RapidError(E.APP_NO_COOKIE_SECRET, name);
      v = signCookie(v, secrets[0] as string);
    }
    const opts = options?.path === undefined ? { ...options, path: '/' } : options;
    this.raw.appendHeader('Set-Cookie', serializeCookie(name, v, opts));
    return this;
  }

  /** Expire a cookie (RFC 6265 §3.1): same name, path and domain, an Expires in the past. */
  clearCookie(name: string, options?: CookieOptions): this {
    const opts: CookieOptions = {
      ...options,
      path: options?.path ?? '/',
      expires: new Date(0),
      maxAge: undefined,
      signed: false,
    };
    this.raw.appendHeader('Set-Cookie', serializeCookie(name, '', opts));
    return this;
  }

  // --- completion ------------------------------------------------------------------------------

  /** The response has been handed to the engine in full: run onResponse hooks once. */
  private responded_(): void {
    if (this.responded) return;
    this.responded = true;
    const hooks = this.req.scope.onResponse;
    if (hooks !== null) queueMicrotask(() => void runOnResponse(this, hooks));
  }
}

type SendHookFn = (req: AppRequestImpl, res: AppResponseImpl, payload: Payload) => unknown;
type ResponseHookFn = (req: AppRequestImpl, res: AppResponseImpl) => unknown;

async function runOnResponse(
  res: AppResponseImpl,
  hooks: readonly ResponseHookFn[],
): Promise<void> {
  for (const hook of hooks) {
    try {
      await hook(res.req, res);
    } catch (err) {
      // The response is gone: the only thing left to do with the error is to report it.
      res.req.scope.settings.logError(err, res.req);
    }
  }
}

function toPayload(v: unknown): Payload {
  if (v === null || typeof v === 'string' || v instanceof Uint8Array) return v;
  throw new TypeError('an onSend hook must return a string, a Uint8Array, null or undefined');
}

/** Percent-encode what a URI cannot hold, keeping valid escapes (like the encodeurl package). */
export function encodeUrl(url: string): string {
  // Unpaired surrogates cannot be encoded as UTF-8: replace them (U+FFFD) first.
  const s = (url as { toWellFormed?: () => string }).toWellFormed?.() ?? url;
  return s.replace(
    /(?:[^\x21\x23-\x3b\x3d\x3f-\x5f\x61-\x7a\x7c\x7e]|%(?![0-9A-Fa-f]{2}))+/g,
    (m) => {
      try {
        return encodeURI(m);
      } catch {
        return '';
      }
    },
  );
}
