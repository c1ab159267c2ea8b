/**
 * Short names for `res.type()` and `req.accepts()`: 'json', 'html', '.txt', 'png'. A small table of
 * the types applications name in code; a full type ('application/vnd.api+json') passes through.
 * File extensions for sendFile are the static feature's job (mime-db there).
 */
const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  htm: 'text/html; charset=utf-8',
  text: 'text/plain; charset=utf-8',
  txt: 'text/plain; charset=utf-8',
  css: 'text/css; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  md: 'text/markdown; charset=utf-8',
  markdown: 'text/markdown; charset=utf-8',
  xml: 'application/xml; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  mjs: 'text/javascript; charset=utf-8',
  json: 'application/json; charset=utf-8',
  jsonld: 'application/ld+json',
  map: 'application/json; charset=utf-8',
  form: 'application/x-www-form-urlencoded',
  urlencoded: 'application/x-www-form-urlencoded',
  multipart: 'multipart/form-data',
  bin: 'application/octet-stream',
  binary: 'application/octet-stream',
  octet: 'application/octet-stream',
  pdf: 'application/pdf',
  zip: 'application/zip',
  gz: 'application/gzip',
  wasm: 'application/wasm',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  avif: 'image/avif',
  svg: 'image/svg+xml',
  ico: 'image/vnd.microsoft.icon',
  mp3: 'audio/mpeg',
  mp4: 'video/mp4',
  webm: 'video/webm',
  woff: 'font/woff',
  woff2: 'font/woff2',
  sse: 'text/event-stream',
  'event-stream': 'text/event-stream',
};

/** The Content-Type for a short name, extension or full type ('' for an unknown short name). */
export function lookupType(name: string): string {
  if (name.indexOf('/') !== -1) return name;
  const key = (name.charCodeAt(0) === 0x2e ? name.slice(1) : name).toLowerCase();
  return TYPES[key] ?? '';
}

/** The media type (no parameters, lowercase) of a Content-Type value. */
export function mediaTypeOf(contentType: string): string {
  const semi = contentType.indexOf(';');
  return (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}

/** The charset parameter of a Content-Type value, lowercased ('' when absent). */
export function charsetOf(contentType: string): string {
  const m = /;\s*charset\s*=\s*("?)([^";\s]+)\1/i.exec(contentType);
  return m === null ? '' : (m[2] as string).toLowerCase();
}

/**
 * Does `mediaType` (lowercase, no parameters) match a parser/accept pattern: exact, `type/*`,
 * `*\/*`, or a structured suffix `application/*+json` (RFC 6838 §4.2.8)?
 */
export function typeMatches(pattern: string, mediaType: string): boolean {
  if (pattern === mediaType || pattern === '*/*') return true;
  const slash = pattern.indexOf('/');
  if (slash === -1) return false;
  const rest = pattern.slice(slash + 1);
  if (!mediaType.startsWith(pattern.slice(0, slash + 1))) return false;
  if (rest === '*') return true;
  if (rest.startsWith('*+')) return mediaType.endsWith(rest.slice(1));
  return false;
}
