/**
 * Cache-Control per path pattern, compiled once at handler creation.
 *
 * Rules are tried in order and the first match wins; the value is sent verbatim. A string
 * pattern is a glob on the file's path relative to the root, written with a leading "/":
 * `*` matches within one segment, `**` across segments, `?` one character. A glob without a
 * leading "/" matches at any depth (`*.html` is `**\/*.html`). A RegExp is tested as is.
 */

export interface CacheControlRule {
  /** Glob (see above) or regular expression tested against the path, e.g. "/assets/app.js". */
  readonly match: string | RegExp;
  /** The Cache-Control field value, e.g. "public, max-age=31536000, immutable". */
  readonly value: string;
}

/** One year and immutable: for file names that change whenever their content does. */
export const IMMUTABLE = 'public, max-age=31536000, immutable';

export function globToRegExp(glob: string): RegExp {
  return new RegExp(`${glob.startsWith('/') ? '^' : '^(?:.*/)?'}${globSource(glob)}$`);
}

/** The regular-expression source of a glob, unanchored (also used by src/features/access). */
export function globSource(glob: string): string {
  let src = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        // "**/" also matches zero directories.
        if (glob[i + 2] === '/') {
          src += '(?:.*/)?';
          i += 2;
        } else {
          src += '.*';
          i += 1;
        }
      } else {
        src += '[^/]*';
      }
    } else if (c === '?') {
      src += '[^/]';
    } else {
      src += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  return src;
}

export type CacheControlFn = (path: string) => string | undefined;

export function compileCacheControl(
  option: string | readonly CacheControlRule[] | undefined,
): CacheControlFn {
  if (option === undefined) return () => undefined;
  if (typeof option === 'string') return () => option;
  const rules = option.map((r) => ({
    re: typeof r.match === 'string' ? globToRegExp(r.match) : r.match,
    value: r.value,
  }));
  return (path) => {
    for (const r of rules) {
      r.re.lastIndex = 0;
      if (r.re.test(path)) return r.value;
    }
    return undefined;
  };
}
