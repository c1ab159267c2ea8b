/**
 * Content-Type parsing and media-type matching for the body parsers, and `parseWith`, which runs
 * a parser outside the app (a native handler, a fetch adapter) with the same 415 rule the app's
 * `req.parseBody()` applies.
 */
import { E, RapidError } from '../../core/errors.js';
import type { RapidRequest } from '../../core/types.js';
import type { BodyParseContext, BodyParser } from '../types.js';

/** Default body limit of a parser used on its own (the engine's default maxBodyBytes). */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;

export interface ContentType {
  /** type/subtype, lowercased, without parameters ("" when absent or malformed). */
  readonly mediaType: string;
  /** The charset parameter, lowercased and unquoted ("" when absent). */
  readonly charset: string;
  /** Every parameter, names lowercased, values unquoted (case kept: a boundary is case-sensitive). */
  readonly params: Readonly<Record<string, string>>;
}

const EMPTY_PARAMS: Readonly<Record<string, string>> = Object.freeze(Object.create(null));

/**
 * Parse a Content-Type field value (RFC 9110 §8.3.1):
 *   media-type = type "/" subtype parameters
 *   parameters = *( OWS ";" OWS [ parameter ] );  parameter = token "=" ( token / quoted-string )
 * Lenient about what it cannot use (parameters stop at the first malformed one), strict about the type:
 * anything but token "/" token gives mediaType "" (which no parser matches: 415).
 */
export function parseContentType(value: string | undefined): ContentType {
  if (value === undefined || value === '')
    return { mediaType: '', charset: '', params: EMPTY_PARAMS };
  const semi = value.indexOf(';');
  const mediaType = (semi === -1 ? value : value.slice(0, semi)).trim().toLowerCase();
  const valid = /^[!#$%&'*+.^_`|~0-9a-z-]+\/[!#$%&'*+.^_`|~0-9a-z-]+$/.test(mediaType);
  if (semi === -1) return { mediaType: valid ? mediaType : '', charset: '', params: EMPTY_PARAMS };
  const params: Record<string, string> = Object.create(null) as Record<string, string>;
  // One pass over `; name=value` pairs; a quoted-string may contain ';' and backslash escapes.
  const re =
    /;\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[!#$%&'*+.^_`|~0-9A-Za-z-]+)/gy;
  re.lastIndex = semi;
  let m: RegExpExecArray | null;
  while ((m = re.exec(value)) !== null) {
    const name = (m[1] as string).toLowerCase();
    let v = m[2] as string;
    if (v.charCodeAt(0) === 0x22) v = v.slice(1, -1).replace(/\\(.)/g, '$1');
    // The first occurrence wins: a repeated parameter is ambiguous (RFC 9110 §5.6.6).
    if (params[name] === undefined) params[name] = v;
    // Skip trailing whitespace before the next ';'.
    while (re.lastIndex < value.length && /[ \t]/.test(value[re.lastIndex] as string)) {
      re.lastIndex++;
    }
  }
  return {
    mediaType: valid ? mediaType : '',
    charset: (params.charset ?? '').toLowerCase(),
    params,
  };
}

/**
 * Compile a parser's `types` into a predicate over a lowercase media type. Patterns: exact
 * (`application/json`), structured-syntax suffix (`application/*+json`, RFC 6838 §4.2.8),
 * top-level wildcard (`text/*`) and `*\/*`.
 */
export function typeMatcher(types: readonly string[]): (mediaType: string) => boolean {
  const exact = new Set<string>();
  const tops: string[] = [];
  const suffixes: [top: string, suffix: string][] = [];
  let any = false;
  for (const raw of types) {
    const t = raw.trim().toLowerCase();
    const slash = t.indexOf('/');
    if (slash <= 0 || slash === t.length - 1) {
      throw new RapidError(
        E.BODY_INVALID_OPTION,
        `media type pattern "${raw}" is not type/subtype`,
      );
    }
    const top = t.slice(0, slash);
    const sub = t.slice(slash + 1);
    if (top === '*' && sub === '*') any = true;
    else if (sub === '*') tops.push(`${top}/`);
    else if (sub.startsWith('*+')) suffixes.push([top === '*' ? '' : `${top}/`, sub.slice(1)]);
    else exact.add(t);
  }
  return (mediaType) => {
    if (mediaType === '') return false;
    if (any || exact.has(mediaType)) return true;
    for (const p of tops) if (mediaType.startsWith(p)) return true;
    for (const [top, suffix] of suffixes) {
      if (mediaType.endsWith(suffix) && (top === '' || mediaType.startsWith(top))) return true;
    }
    return false;
  };
}

/**
 * Parse a request's body with one parser outside the app: 415 (RAPID_ERR_BODY_UNSUPPORTED_TYPE)
 * when the Content-Type is not one of the parser's types, undefined when there is no body.
 *
 *   const data = await parseWith(req, json());
 */
export function parseWith<T = unknown>(
  req: RapidRequest,
  parser: BodyParser,
  limit = DEFAULT_BODY_LIMIT,
): Promise<T> {
  if (!req.hasBody) return Promise.resolve(undefined as T);
  const contentType = req.header('content-type') ?? '';
  const ct = parseContentType(contentType);
  const matches = matcherOf(parser);
  if (!matches(ct.mediaType)) {
    return Promise.reject(
      new RapidError(
        E.BODY_UNSUPPORTED_TYPE,
        ct.mediaType === '' ? 'no Content-Type' : ct.mediaType,
      ),
    );
  }
  const ctx: BodyParseContext = {
    mediaType: ct.mediaType,
    charset: ct.charset,
    contentType,
    limit,
  };
  return parser.parse(req, ctx) as Promise<T>;
}

const matchers = new WeakMap<BodyParser, (mediaType: string) => boolean>();

function matcherOf(parser: BodyParser): (mediaType: string) => boolean {
  let m = matchers.get(parser);
  if (m === undefined) {
    m = typeMatcher(parser.types);
    matchers.set(parser, m);
  }
  return m;
}

/** A limit option: a non-negative integer number of bytes, or undefined for the context's. */
export function checkLimit(name: string, value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new RapidError(E.BODY_INVALID_OPTION, `${name} must be a non-negative integer`);
  }
  return value;
}
