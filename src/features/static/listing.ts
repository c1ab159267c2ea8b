/**
 * The optional HTML directory listing. Every name is escaped for HTML text and attribute
 * contexts and percent-encoded in links, so a file called `<img src=x onerror=...>` or
 * `a"b` shows as text and links correctly.
 */

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

export interface ListingEntry {
  readonly name: string;
  readonly isDirectory: boolean;
  /** Size in bytes; -1 for directories. */
  readonly size: number;
  /** Modification time in ms; NaN when unknown. */
  readonly mtimeMs: number;
}

function formatSize(n: number): string {
  if (n < 0) return '-';
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}

/**
 * Renders the listing of `displayPath` (the decoded request path, ending in "/"). Directories
 * first, then files, each group by name.
 */
export function renderListing(displayPath: string, entries: readonly ListingEntry[]): string {
  const sorted = [...entries].sort((a, b) =>
    a.isDirectory !== b.isDirectory ? (a.isDirectory ? -1 : 1) : a.name < b.name ? -1 : 1,
  );
  const title = escapeHtml(`Index of ${displayPath}`);
  const rows: string[] = [];
  if (displayPath !== '/') {
    rows.push('<tr><td><a href="../">../</a></td><td></td><td></td></tr>');
  }
  for (const e of sorted) {
    const href = encodeURIComponent(e.name) + (e.isDirectory ? '/' : '');
    const label = escapeHtml(e.name) + (e.isDirectory ? '/' : '');
    const when = Number.isNaN(e.mtimeMs) ? '' : new Date(e.mtimeMs).toISOString().slice(0, 16);
    rows.push(
      `<tr><td><a href="./${escapeHtml(href)}">${label}</a></td>` +
        `<td>${formatSize(e.size)}</td><td>${when.replace('T', ' ')}</td></tr>`,
    );
  }
  return (
    '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    `<title>${title}</title>` +
    '<style>body{font:15px/1.5 system-ui,sans-serif;margin:2rem}td{padding:.15rem 1.5rem .15rem 0}' +
    'td:nth-child(2){text-align:right}</style></head><body>' +
    `<h1>${title}</h1><table>\n${rows.join('\n')}\n</table></body></html>\n`
  );
}
