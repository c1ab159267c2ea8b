/**
 * application/json (and `+json` types) bodies.
 *
 * - strict (default on, as body-parser): the top-level value must be an object or an array;
 *   `"a"`, `1`, `true`, `null` are a 400. Turn it off to accept any JSON text (RFC 8259 §2).
 * - UTF-8, with a leading BOM ignored (RFC 8259 §8.1 forbids adding one, and allows ignoring it).
 *   A `charset` other than UTF-8/UTF-16 is a 415.
 * - Prototype poisoning (as Fastify/secure-json-parse): JSON.parse makes `__proto__` an own
 *   property, harmless until a merge or `Object.assign` copies it onto a prototype. By default a
 *   body with a `__proto__` key, or a `constructor` key holding an object with `prototype`, is
 *   refused (400); 'remove' deletes such keys, 'ignore' keeps them. The scan runs only when the
 *   text contains the name (or a \u escape that could spell it), so ordinary bodies pay one
 *   `includes`.
 * - A chunked body of zero bytes parses to undefined, like a request without a body.
 */
import { E, RapidError } from '../../core/errors.js';
import type { RapidRequest } from '../../core/types.js';
import type { BodyParseContext, BodyParser } from '../types.js';
import { decoderForCharset } from './charset.js';
import { checkLimit } from './media.js';
import { readBody } from './read.js';

export type PoisonAction = 'error' | 'remove' | 'ignore';

export interface JsonOptions {
  /** Largest body in bytes (default: the app's bodyLimit, 1 MiB on its own). */
  limit?: number;
  /** Only objects and arrays at the top level (default true). */
  strict?: boolean;
  /** Passed to JSON.parse. */
  reviver?: (this: unknown, key: string, value: unknown) => unknown;
  /** What to do with `__proto__` keys (default 'error'). */
  protoAction?: PoisonAction;
  /** What to do with `constructor: { prototype: ... }` (default 'error'). */
  constructorAction?: PoisonAction;
  /** Media types handled (default application/json and application/*+json). */
  types?: readonly string[];
  /** Decode gzip/deflate/br bodies (default true). */
  inflate?: boolean;
}

export const JSON_TYPES: readonly string[] = Object.freeze([
  'application/json',
  'application/*+json',
]);

export function json(options: JsonOptions = {}): BodyParser {
  const limit = checkLimit('json limit', options.limit);
  const strict = options.strict ?? true;
  const reviver = options.reviver;
  const protoAction = options.protoAction ?? 'error';
  const constructorAction = options.constructorAction ?? 'error';
  const inflate = options.inflate ?? true;
  const types = Object.freeze([...(options.types ?? JSON_TYPES)]);
  for (const a of [protoAction, constructorAction]) {
    if (a !== 'error' && a !== 'remove' && a !== 'ignore') {
      throw new RapidError(E.BODY_INVALID_OPTION, `json poison action must be error|remove|ignore`);
    }
  }
  return {
    types,
    limit,
    async parse(req: RapidRequest, ctx: BodyParseContext): Promise<unknown> {
      const charset = ctx.charset;
      // RFC 8259 §8.1: JSON exchanged between systems is UTF-8; UTF-16 is still accepted (as
      // body-parser does) since TextDecoder handles it; anything else cannot be JSON.
      if (charset !== '' && !charset.startsWith('utf')) {
        throw new RapidError(E.BODY_UNSUPPORTED_CHARSET, charset);
      }
      const decode = decoderForCharset(charset);
      const buf = await readBody(req, limit ?? ctx.limit, inflate);
      if (buf.length === 0) return undefined;
      return parseJsonText(decode(buf), strict, reviver, protoAction, constructorAction);
    },
  };
}

/** JSON.parse with the strict and poisoning rules above; errors are catalog errors (400). */
export function parseJsonText(
  text: string,
  strict: boolean,
  reviver: JsonOptions['reviver'],
  protoAction: PoisonAction,
  constructorAction: PoisonAction,
): unknown {
  if (strict) {
    const first = firstNonSpace(text);
    if (first !== 0x7b && first !== 0x5b) {
      throw new RapidError(
        E.INVALID_JSON_BODY,
        first === -1 ? 'empty body' : 'strict mode: the top-level value must be an object or array',
      );
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(text, reviver);
  } catch (err) {
    throw new RapidError(E.INVALID_JSON_BODY, (err as Error).message, { cause: err });
  }
  if (value === null || typeof value !== 'object') return value;
  const escaped = text.includes('\\u');
  const checkProto = protoAction !== 'ignore' && (escaped || text.includes('__proto__'));
  const checkCtor = constructorAction !== 'ignore' && (escaped || text.includes('constructor'));
  if (checkProto || checkCtor) {
    scrub(value, checkProto ? protoAction : 'ignore', checkCtor ? constructorAction : 'ignore');
  }
  return value;
}

/** JSON whitespace is SP, HTAB, LF, CR (RFC 8259 §2). */
function firstNonSpace(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return c;
  }
  return -1;
}

const hasOwn = Object.prototype.hasOwnProperty;

/** Walk the parsed value (iteratively: deep nesting cannot overflow the stack). */
function scrub(root: object, proto: PoisonAction, ctor: PoisonAction): void {
  const stack: object[] = [root];
  while (stack.length > 0) {
    const node = stack.pop() as Record<string, unknown>;
    if (proto !== 'ignore' && hasOwn.call(node, '__proto__')) {
      if (proto === 'error') throw new RapidError(E.BODY_JSON_FORBIDDEN_KEY, '__proto__');
      Reflect.deleteProperty(node, '__proto__');
    }
    if (ctor !== 'ignore' && hasOwn.call(node, 'constructor')) {
      const c = node.constructor;
      if (c !== null && typeof c === 'object' && hasOwn.call(c, 'prototype')) {
        if (ctor === 'error') {
          throw new RapidError(E.BODY_JSON_FORBIDDEN_KEY, 'constructor.prototype');
        }
        Reflect.deleteProperty(node, 'constructor');
      }
    }
    for (const key in node) {
      const v = node[key];
      if (v !== null && typeof v === 'object') stack.push(v);
    }
  }
}
