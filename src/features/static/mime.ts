/**
 * Media types by file extension, from mime-db (the database behind `mime-types`, kept by the
 * jshttp project), with per-handler overrides. Everything is resolved once per extension: the
 * full Content-Type value (with `charset=utf-8` for text, RFC 9110 §8.3.1) and whether the type
 * is worth compressing (mime-db's `compressible`).
 */
import { createRequire } from 'node:module';
import type { MimeEntry } from 'mime-db';

// mime-db is a CommonJS JSON package; createRequire keeps it a plain synchronous load.
const db = createRequire(import.meta.url)('mime-db') as Record<string, MimeEntry>;

/** What the handler needs to know about one media type. */
export interface MediaType {
  /** The Content-Type field value, e.g. "text/html; charset=utf-8". */
  readonly contentType: string;
  /** Whether gzip/deflate/br are applied (never for already compressed formats). */
  readonly compressible: boolean;
}

// When two types claim one extension, keep the better by the score `mime-types` 3 uses
// (mime-score): plain subtypes over vnd./x-/prs. facets, iana over unspecified over apache over
// nginx, then video over audio over font over application over the rest (RFC 4337 makes .mp4
// video/mp4), then the shorter name. application/octet-stream always loses.
const FACET: Record<string, number> = { 'prs.': 100, 'x-': 200, 'x.': 300, 'vnd.': 400 };
const SOURCE: Record<string, number> = { nginx: 10, apache: 20, iana: 40 };
const TYPE: Record<string, number> = { application: 1, font: 2, audio: 2, video: 3 };

function score(type: string, entry: MimeEntry): number {
  if (type === 'application/octet-stream') return 0;
  const slash = type.indexOf('/');
  const facet = type.slice(slash + 1).replace(/(\.|x-).*/, '$1');
  return (
    (FACET[facet] ?? 900) +
    (SOURCE[entry.source ?? ''] ?? 30) +
    (TYPE[type.slice(0, slash)] ?? 0) +
    (1 - type.length / 100)
  );
}

const byExtension = new Map<string, string>();
{
  const scores = new Map<string, number>();
  for (const type of Object.keys(db)) {
    const entry = db[type]!;
    const s = score(type, entry);
    for (const ext of entry.extensions ?? []) {
      const existing = scores.get(ext);
      if (existing === undefined || s > existing) {
        byExtension.set(ext, type);
        scores.set(ext, s);
      }
    }
  }
}

/** The media type mime-db gives an extension (lowercase, no dot), or undefined. */
export function lookupExtension(ext: string): string | undefined {
  return byExtension.get(ext);
}

/** Formats that are already compressed even though mime-db marks their type compressible. */
const PRECOMPRESSED_EXTENSIONS = new Set(['svgz', 'gz', 'br', 'zst', 'tgz']);

/** Builds the Content-Type value and compressibility for a media type string. */
export function describeType(type: string, ext = ''): MediaType {
  const lower = type.toLowerCase();
  const semi = lower.indexOf(';');
  const essence = (semi === -1 ? lower : lower.slice(0, semi)).trim();
  const entry = db[essence];
  // A charset parameter already present in an override wins; otherwise text types get UTF-8
  // (mime-db's charset field, or any text/*), the encoding every file in a modern site uses.
  let contentType = type;
  if (semi === -1 && (entry?.charset !== undefined || essence.startsWith('text/'))) {
    contentType = `${type}; charset=utf-8`;
  }
  let compressible: boolean;
  if (PRECOMPRESSED_EXTENSIONS.has(ext) || essence === 'application/octet-stream') {
    // mime-db marks octet-stream compressible; unknown binary data rarely is.
    compressible = false;
  } else if (entry?.compressible !== undefined) {
    compressible = entry.compressible;
  } else {
    compressible =
      essence.startsWith('text/') || essence.endsWith('+json') || essence.endsWith('+xml');
  }
  return { contentType, compressible };
}

/**
 * Resolves extensions to media types for one handler: overrides first, then mime-db, then the
 * default type. Results are memoised per extension, so a lookup is one Map get.
 */
export class MimeResolver {
  private readonly memo = new Map<string, MediaType>();
  private readonly overrides: Map<string, string>;
  private readonly fallback: MediaType;

  private readonly compressTypes: ((essence: string) => boolean) | null;

  /**
   * `compressTypes`: media types ("application/json") or families ("text/*") to compress instead
   * of mime-db's judgement; already compressed formats (.gz, .br, ...) never are.
   */
  constructor(
    overrides: Readonly<Record<string, string>> = {},
    defaultType: string,
    compressTypes?: readonly string[],
  ) {
    this.overrides = new Map();
    for (const [k, v] of Object.entries(overrides)) {
      this.overrides.set(k.replace(/^\./, '').toLowerCase(), v);
    }
    if (compressTypes === undefined || compressTypes.length === 0) {
      this.compressTypes = null;
    } else {
      const exact = new Set<string>();
      const families: string[] = [];
      for (const t of compressTypes) {
        const l = t.trim().toLowerCase();
        if (l === '*' || l === '*/*') families.push('');
        else if (l.endsWith('/*')) families.push(l.slice(0, -1));
        else exact.add(l);
      }
      this.compressTypes = (essence) =>
        exact.has(essence) || families.some((f) => essence.startsWith(f));
    }
    this.fallback = this.describe(defaultType, '');
  }

  private describe(type: string, ext: string): MediaType {
    const media = describeType(type, ext);
    if (this.compressTypes === null || PRECOMPRESSED_EXTENSIONS.has(ext)) return media;
    const semi = type.indexOf(';');
    const essence = (semi === -1 ? type : type.slice(0, semi)).trim().toLowerCase();
    return { contentType: media.contentType, compressible: this.compressTypes(essence) };
  }

  /** The media type for a file name (only the part after the last dot counts). */
  forName(name: string): MediaType {
    const dot = name.lastIndexOf('.');
    // "Makefile" and ".bashrc" have no extension.
    if (dot <= 0 || dot === name.length - 1) return this.fallback;
    const ext = name.slice(dot + 1).toLowerCase();
    let media = this.memo.get(ext);
    if (media === undefined) {
      const type = this.overrides.get(ext) ?? byExtension.get(ext);
      media = type === undefined ? this.fallback : this.describe(type, ext);
      // Extensions come from file names on disk, so the memo is bounded by what the site holds;
      // the cap keeps a site with millions of odd extensions from growing it without end.
      if (this.memo.size < 4096) this.memo.set(ext, media);
    }
    return media;
  }
}
