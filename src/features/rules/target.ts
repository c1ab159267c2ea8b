/**
 * The `from` and `to` of redirects and rewrites, compiled once.
 *
 * `from` is matched against the request path as sent (percent-encoded, without the query): a
 * string starting with "^" is a regular expression, anything else an exact path (written decoded
 * or encoded; it is compared in its encoded form). `to` may use `$1`…`$9`, `$0` (the whole match)
 * and `$<name>` (named groups); `$$` is a literal "$". Captures are substituted as they were sent,
 * so the target stays correctly encoded and nothing is decoded twice.
 *
 * Query: a target without "?" keeps the request's query; a target with one replaces it; a target
 * ending in "?" drops it.
 */
import { encodeUrl } from '../../app/response.js';

export interface CompiledFrom {
  readonly source: string;
  /** The match (array-like: [whole, ...groups] with `groups` for named ones), or null. */
  match(path: string): RegExpExecArray | readonly string[] | null;
  /** The exact path for exact rules (used for O(1) lookup), null for regular expressions. */
  readonly exact: string | null;
  readonly groupCount: number;
  readonly groupNames: readonly string[];
}

/** Why `from` cannot be used, or null. */
export function compileFrom(from: unknown, ignoreCase: boolean): CompiledFrom | string {
  if (from instanceof RegExp) from = from.source;
  if (typeof from !== 'string' || from.length === 0) return 'must be a non-empty string';
  if (from.startsWith('^')) {
    let re: RegExp;
    try {
      re = new RegExp(from, ignoreCase ? 'i' : '');
    } catch (err) {
      return `is not a valid regular expression: ${(err as Error).message}`;
    }
    const probe = new RegExp(`${from}|`, re.flags).exec('') as RegExpExecArray;
    return {
      source: from,
      exact: null,
      groupCount: probe.length - 1,
      groupNames: Object.keys(probe.groups ?? {}),
      match: (path: string) => re.exec(path),
    };
  }
  if (!from.startsWith('/'))
    return 'must be a path starting with "/" or a regular expression starting with "^"';
  if (/[?#\s]/.test(from)) return 'an exact path must not contain "?", "#" or whitespace';
  const exact = encodeUrl(from);
  const lower = exact.toLowerCase();
  const one = [exact] as const;
  return {
    source: from,
    exact: ignoreCase ? null : exact,
    groupCount: 0,
    groupNames: [],
    match: ignoreCase
      ? (path: string) => (path.toLowerCase() === lower ? [path] : null)
      : (path: string) => (path === exact ? one : null),
  };
}

type Part = string | number | { readonly name: string };

export interface CompiledTo {
  readonly source: string;
  /** Absolute (scheme://…) rather than a path. */
  readonly absolute: boolean;
  /** Build the target for a match and the request's query ("" or "?…"). */
  build(m: RegExpExecArray | readonly string[], search: string): string;
}

/** Compile a target against its `from` (checks that referenced groups exist). */
export function compileTo(
  to: unknown,
  from: CompiledFrom,
  allowAbsolute: boolean,
): CompiledTo | string {
  if (typeof to !== 'string' || to.length === 0) return 'must be a non-empty string';
  if (/[\s]/.test(to)) return 'must not contain whitespace (encode it as %20)';
  const absolute = /^[a-z][a-z0-9+.-]*:\/\//i.test(to);
  if (absolute) {
    if (!allowAbsolute)
      return 'must be a path starting with "/" (an internal rewrite stays on this site)';
    if (!/^https?:\/\//i.test(to)) return 'an absolute target must be an http:// or https:// URL';
  } else if (!allowAbsolute && to.includes('#')) {
    return 'must not contain "#" (a fragment never reaches the server)';
  } else if (!to.startsWith('/')) {
    return 'must be a path starting with "/" or an absolute http(s):// URL';
  }
  const parts: Part[] = [];
  let literal = '';
  for (let i = 0; i < to.length; i++) {
    const c = to[i] as string;
    if (c !== '$') {
      literal += c;
      continue;
    }
    const n = to[i + 1];
    if (n === '$') {
      literal += '$';
      i++;
    } else if (n !== undefined && n >= '0' && n <= '9') {
      const index = Number(n);
      if (index > from.groupCount) {
        return `uses $${index} but ${JSON.stringify(from.source)} has ${from.groupCount} group(s)`;
      }
      if (literal !== '') parts.push(literal);
      literal = '';
      parts.push(index);
      i++;
    } else if (n === '<') {
      const end = to.indexOf('>', i);
      const name = end === -1 ? '' : to.slice(i + 2, end);
      if (!from.groupNames.includes(name)) return `uses $<${name}>, which is not a named group`;
      if (literal !== '') parts.push(literal);
      literal = '';
      parts.push({ name });
      i = end;
    } else {
      return 'has a "$" not followed by a digit, "<name>" or "$" (write $$ for a literal $)';
    }
  }
  if (literal !== '') parts.push(literal);

  // Captures in the authority of an absolute target (before the first "/", "?" or "#" after
  // "://") are encoded as components, so a request path cannot change the host.
  const inAuthority: boolean[] = [];
  let authority = absolute;
  for (const p of parts) {
    if (typeof p === 'string') {
      const rest = authority && inAuthority.length === 0 ? p.slice(p.indexOf('://') + 3) : p;
      if (authority && /[/?#]/.test(rest)) authority = false;
    }
    inAuthority.push(authority);
  }
  const hash = to.indexOf('#');
  const beforeHash = hash === -1 ? to : to.slice(0, hash);
  const dropQuery = beforeHash.endsWith('?');
  const hasQuery = beforeHash.includes('?');

  return {
    source: to,
    absolute,
    build(m, search) {
      let out = '';
      for (let i = 0; i < parts.length; i++) {
        const p = parts[i] as Part;
        if (typeof p === 'string') {
          out += p;
          continue;
        }
        const v =
          (typeof p === 'number'
            ? m[p]
            : ((m as RegExpExecArray).groups?.[p.name] as string | undefined)) ?? '';
        out += inAuthority[i] === true ? encodeURIComponent(v) : v;
      }
      let fragment = '';
      const h = out.indexOf('#');
      if (h !== -1) {
        fragment = out.slice(h);
        out = out.slice(0, h);
      }
      if (dropQuery) out = out.slice(0, -1);
      else if (!hasQuery) out += search;
      if (!absolute) {
        // "//host" or "/\host" would be another origin to a browser: keep the target on this one.
        out = out.replace(/^[/\\]+/, '/');
      }
      return encodeUrl(out.replace(/\\/g, '%5C') + fragment);
    },
  };
}
