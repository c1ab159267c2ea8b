/**
 * Response header storage shared by every protocol: one flat array of (lowercase key, name as
 * given, value), so the common case of a handful of headers is a short linear scan with no Map
 * and no per-header object. Set-Cookie and other repeated fields stay separate lines.
 */
import { isFieldValue, isToken } from '../util/ascii.js';
import { E, RapidError } from './errors.js';
import type { HeadHook, HeaderValue, RapidResponse } from './types.js';

/**
 * Names already checked, mapped to their lowercase key. Handlers set the same few names on every
 * response; this turns the token check and toLowerCase() into one Map hit. Bounded, so names made
 * from request data cannot grow it without limit.
 */
const KEYS = new Map<string, string>();
const MAX_KEYS = 1024;

function keyOf(name: string): string {
  let key = KEYS.get(name);
  if (key === undefined) {
    if (!isToken(name)) throw new RapidError(E.INVALID_HEADER, `name ${JSON.stringify(name)}`);
    key = name.toLowerCase();
    if (KEYS.size < MAX_KEYS) KEYS.set(name, key);
  }
  return key;
}

/**
 * Values that passed the check below, one per slot (by length): handlers set the same few values
 * (a content type, a server name) on every response, so the per-character check runs once.
 */
const VALID_VALUES: string[] = new Array<string>(16).fill('');

export class HeaderList {
  /**
   * The fields as one flat array of (lowercase key, name as given, value) triples: one array per
   * response instead of three (a response with two headers allocated ~600 bytes, now ~100).
   */
  readonly fields: string[] = [];

  /** The number of fields (a repeated name counts once per value). */
  get size(): number {
    return this.fields.length / 3;
  }

  /** The field index (0, 1, ...) of the first field with this lowercase key, or -1. */
  indexOf(key: string): number {
    const f = this.fields;
    for (let i = 0; i < f.length; i += 3) if (f[i] === key) return i / 3;
    return -1;
  }

  get(name: string): string | undefined {
    const key = name.toLowerCase();
    const f = this.fields;
    let out: string | undefined;
    for (let i = 0; i < f.length; i += 3) {
      if (f[i] === key) out = out === undefined ? f[i + 2] : `${out}, ${f[i + 2]}`;
    }
    return out;
  }

  has(name: string): boolean {
    return this.indexOf(name.toLowerCase()) !== -1;
  }

  remove(name: string): void {
    const key = name.toLowerCase();
    const f = this.fields;
    for (let i = f.length - 3; i >= 0; i -= 3) if (f[i] === key) f.splice(i, 3);
  }

  set(name: string, value: HeaderValue): void {
    const key = keyOf(name);
    if (this.fields.length !== 0 && this.indexOf(key) !== -1) this.remove(key);
    this.add(key, name, value);
  }

  append(name: string, value: HeaderValue): void {
    this.add(keyOf(name), name, value);
  }

  private add(key: string, name: string, value: HeaderValue): void {
    if (typeof value === 'string') this.push(key, name, value);
    else if (typeof value === 'number') this.push(key, name, String(value));
    else for (const v of value) this.push(key, name, v);
  }

  private push(key: string, name: string, value: string): void {
    // Response splitting defence: no CR, LF, NUL or other controls in values (RFC 9110 §5.5).
    const slot = value.length & 15;
    if (VALID_VALUES[slot] !== value) {
      if (!isFieldValue(value)) {
        throw new RapidError(E.INVALID_HEADER, `value of ${name} contains a control character`);
      }
      VALID_VALUES[slot] = value;
    }
    this.fields.push(key, name, value);
  }

  clear(): void {
    this.fields.length = 0;
  }
}

/**
 * The status and header half of RapidResponse, shared by the protocols' responses (H1Response,
 * H2Response): they add the body and how the head is written.
 */
export class ResponseFields {
  statusCode = 200;
  headersSent = false;
  protected headers: HeaderList | null = null;
  /** onHead() hooks, run once by the protocol's head(); null (the common case) costs one check. */
  protected headHooks: HeadHook[] | null = null;

  onHead(hook: HeadHook): this {
    if (this.headersSent) throw new RapidError(E.HEADERS_ALREADY_SENT);
    (this.headHooks ??= []).push(hook);
    return this;
  }

  /** Runs the onHead hooks over a prepared header block ("" for none); the status is kept. */
  protected runHeadHooks(block: string): string {
    const hooks = this.headHooks as HeadHook[];
    // Cleared first: a hook that throws is not run again for the error page that follows.
    this.headHooks = null;
    const code = this.statusCode;
    const self = this as unknown as RapidResponse;
    for (let i = 0; i < hooks.length; i++) block = (hooks[i] as HeadHook)(self, block);
    this.statusCode = code;
    return block;
  }

  status(code: number): this {
    if (!Number.isInteger(code) || code < 100 || code > 999) {
      throw new RapidError(E.INVALID_STATUS, String(code));
    }
    this.statusCode = code;
    return this;
  }

  setHeader(name: string, value: HeaderValue): this {
    if (this.headersSent) throw new RapidError(E.HEADERS_ALREADY_SENT);
    (this.headers ??= new HeaderList()).set(name, value);
    return this;
  }

  appendHeader(name: string, value: HeaderValue): this {
    if (this.headersSent) throw new RapidError(E.HEADERS_ALREADY_SENT);
    (this.headers ??= new HeaderList()).append(name, value);
    return this;
  }

  getHeader(name: string): string | undefined {
    return this.headers === null ? undefined : this.headers.get(name);
  }

  hasHeader(name: string): boolean {
    return this.headers !== null && this.headers.has(name);
  }

  removeHeader(name: string): this {
    if (this.headersSent) throw new RapidError(E.HEADERS_ALREADY_SENT);
    if (this.headers !== null) this.headers.remove(name);
    return this;
  }
}
