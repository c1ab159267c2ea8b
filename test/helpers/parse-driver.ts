/**
 * Drives Rapid's HTTP/1.1 request parser over a list of chunks the way a connection does, and
 * records what it produced, so tests can compare one split of the input with another (or with
 * llhttp's trace).
 */
import {
  EV_BODY_DONE,
  EV_ERROR,
  EV_HEAD,
  EV_NEED_MORE,
  MessageParser,
} from '../../src/http1/parser.js';
import type { ErrorSpec } from '../../src/core/errors.js';
import { DEFAULT_LIMITS, type Limits } from '../../src/core/types.js';

export interface ParsedMessage {
  method: string;
  url: string;
  targetForm: number;
  versionMinor: number;
  headers: string[];
  host: string;
  contentLength: number;
  chunked: boolean;
  hasBody: boolean;
  keepAlive: boolean;
  upgrade: boolean;
  expectContinue: boolean;
  expectUnsupported: boolean;
  body: Buffer;
  trailers: string[];
  complete: boolean;
}

export interface ParseResult {
  messages: ParsedMessage[];
  /** Catalog entry of the error, or null. */
  error: ErrorSpec | null;
  /** Offset into the whole input where the error was reported (sum of chunk lengths before). */
  errorOffset: number;
  /** Parsing stopped after an upgrade/CONNECT request (the connection would be handed over). */
  upgraded: boolean;
  /** Bytes after the hand-over point (what the upgrade hook would receive). */
  upgradeRest: number;
  /** Parsing stopped after a request that ends the connection (keepAlive false). */
  closed: boolean;
  /** p.finish() after the last chunk (true: ended cleanly between requests). */
  finishedCleanly: boolean;
}

export interface DriveOptions {
  limits?: Partial<Limits>;
  /** Stop at an upgrade request after its body (as the connection hands the socket over). */
  stopOnUpgrade?: boolean;
  /**
   * Stop after a request that ends the connection (RFC 9112 §9.6: after "close" the server
   * "MUST NOT process any further requests received on that connection").
   */
  stopOnClose?: boolean;
  /**
   * Go on with this parser instead of a new one (what it remembers of earlier requests on its
   * connection must not change how the next ones parse). `limits` is then ignored.
   */
  parser?: MessageParser;
}

/** Feed `chunks` in order; never throws unless the parser itself throws. */
export function drive(chunks: readonly Buffer[], opts: DriveOptions = {}): ParseResult {
  const p = opts.parser ?? new MessageParser({ ...DEFAULT_LIMITS, ...opts.limits });
  const stopOnUpgrade = opts.stopOnUpgrade ?? true;
  const stopOnClose = opts.stopOnClose ?? true;
  const messages: ParsedMessage[] = [];
  let bodyParts: Buffer[] = [];
  let current: ParsedMessage | null = null;
  p.onBody = (view) => {
    // Views into the input: copy, as a consumer that keeps them must.
    bodyParts.push(Buffer.from(view));
  };
  const result: ParseResult = {
    messages,
    error: null,
    errorOffset: -1,
    upgraded: false,
    upgradeRest: 0,
    closed: false,
    finishedCleanly: true,
  };
  const complete = (): void => {
    current!.body = Buffer.concat(bodyParts);
    current!.trailers = p.trailers;
    current!.complete = true;
    bodyParts = [];
  };
  let base = 0;
  let total = 0;
  for (const c of chunks) total += c.length;
  for (const chunk of chunks) {
    let off = 0;
    while (off < chunk.length) {
      const before = off;
      off = p.execute(chunk, off);
      if (off < before || off > chunk.length) {
        throw new Error(`parser returned offset ${off} (was ${before}, chunk ${chunk.length})`);
      }
      const ev = p.event;
      if (ev === EV_NEED_MORE) {
        if (off !== chunk.length) throw new Error('EV_NEED_MORE before the end of the chunk');
        break;
      }
      if (ev === EV_ERROR) {
        result.error = p.error;
        result.errorOffset = base + off;
        result.finishedCleanly = p.finish();
        return result;
      }
      if (ev === EV_HEAD) {
        bodyParts = [];
        current = {
          method: p.method,
          url: p.url,
          targetForm: p.targetForm,
          versionMinor: p.versionMinor,
          headers: p.rawHeaders.slice(),
          host: p.host,
          contentLength: p.contentLength,
          chunked: p.chunked,
          hasBody: p.hasBody,
          keepAlive: p.keepAlive,
          upgrade: p.upgrade,
          expectContinue: p.expectContinue,
          expectUnsupported: p.expectUnsupported,
          body: Buffer.alloc(0),
          trailers: [],
          complete: false,
        };
        messages.push(current);
        if (!p.hasBody) complete();
      } else if (ev === EV_BODY_DONE) {
        complete();
      } else {
        throw new Error(`unknown event ${ev}`);
      }
      if (current !== null && current.complete && current.upgrade && stopOnUpgrade) {
        result.upgraded = true;
        result.upgradeRest = total - (base + off);
        result.finishedCleanly = p.finish();
        return result;
      }
      if (current !== null && current.complete && !current.keepAlive && stopOnClose) {
        result.closed = true;
        result.finishedCleanly = p.finish();
        return result;
      }
    }
    base += chunk.length;
  }
  result.finishedCleanly = p.finish();
  return result;
}

/** Every way to cut `buf` in two (1..len-1), plus one byte at a time, plus whole. */
export function splits(buf: Buffer): Buffer[][] {
  const out: Buffer[][] = [[buf]];
  for (let k = 1; k < buf.length; k++) out.push([buf.subarray(0, k), buf.subarray(k)]);
  if (buf.length > 1) {
    const bytes: Buffer[] = [];
    for (let k = 0; k < buf.length; k++) bytes.push(buf.subarray(k, k + 1));
    out.push(bytes);
  }
  return out;
}

/** A comparable summary of a result (offsets excluded: they depend on the split only via error). */
export function summary(r: ParseResult): unknown {
  return {
    error: r.error?.code ?? null,
    upgraded: r.upgraded,
    upgradeRest: r.upgradeRest,
    closed: r.closed,
    finishedCleanly: r.finishedCleanly,
    messages: r.messages.map((m) => ({ ...m, body: m.body.toString('latin1') })),
  };
}
