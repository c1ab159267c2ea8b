/**
 * Response heads for HTTP/1.1: status lines precomputed once, error responses precomputed per
 * catalog entry, and a head builder that concatenates one string (written once, with the body
 * when it is small) — h2o's flatten_headers and uWS's cork buffer, in JavaScript terms.
 */
import type { ErrorSpec } from '../core/errors.js';
import { statusText } from '../core/status.js';
import { dateHeaderLine } from '../util/date.js';

const STATUS_LINES: string[] = [];

/** "HTTP/1.1 <code> <reason>\r\n", cached per code. */
export function statusLine(code: number): string {
  let line = STATUS_LINES[code];
  if (line === undefined) {
    line = `HTTP/1.1 ${code} ${statusText(code)}\r\n`;
    if (code >= 100 && code <= 999) STATUS_LINES[code] = line;
  }
  return line;
}
for (const code of [200, 201, 204, 206, 301, 302, 304, 400, 404, 500]) statusLine(code);

export const CONTINUE_100 = 'HTTP/1.1 100 Continue\r\n\r\n';
export const CHUNKED_END = '0\r\n\r\n';

const errorParts = new Map<string, { head: string; tail: string }>();

/**
 * A complete error response for a catalog entry, always with Connection: close (after a framing
 * error nothing more on the connection can be trusted, RFC 9112 §9.6/§11.2).
 */
export function errorResponse(spec: ErrorSpec, close = true): string {
  const key = close ? spec.code : `${spec.code}+ka`;
  let parts = errorParts.get(key);
  if (parts === undefined) {
    const body = `${spec.message}\n`;
    parts = {
      head:
        statusLine(spec.status) +
        'Content-Type: text/plain; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        (close ? 'Connection: close\r\n' : ''),
      tail: `\r\n${body}`,
    };
    errorParts.set(key, parts);
  }
  return parts.head + dateHeaderLine() + parts.tail;
}

/** Chunk framing for one piece of a chunked body (RFC 9112 §7.1). */
export function chunkHeader(size: number): string {
  return `${size.toString(16)}\r\n`;
}
