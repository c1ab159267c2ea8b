/**
 * Helpers for the static file feature tests: a temporary site tree, a server running a static
 * handler on 127.0.0.1:0, and a raw HTTP/1.1 client that returns the exact bytes received.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  createStaticHandler,
  type StaticHandler,
  type StaticOptions,
} from '../../src/features/static/index.js';
import { serve, type RapidServer } from '../../src/server/server.js';

/** Creates a temporary directory holding `files` (path -> content). */
export function makeSite(files: Record<string, string | Buffer>, prefix = 'rapid-static-'): string {
  const root = mkdtempSync(join(tmpdir(), prefix));
  writeTree(root, files);
  return root;
}

export function writeTree(root: string, files: Record<string, string | Buffer>): void {
  for (const [rel, content] of Object.entries(files)) {
    const p = join(root, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, content);
  }
}

export function removeSite(root: string): void {
  rmSync(root, { recursive: true, force: true });
}

export interface StaticServer {
  readonly server: RapidServer;
  readonly handler: StaticHandler;
  readonly port: number;
  close(): Promise<void>;
}

export async function startStatic(options: StaticOptions): Promise<StaticServer> {
  const handler = createStaticHandler(options);
  const server = await serve({ port: 0, host: '127.0.0.1', handler });
  return {
    server,
    handler,
    port: server.port,
    async close() {
      await server.close();
      handler.close();
    },
  };
}

export interface RawResponse {
  status: number;
  /** Header names lowercased; repeated fields joined with ", ". */
  headers: Record<string, string>;
  /** The head exactly as received (status line and fields, without the blank line). */
  head: string;
  /** The body after removing chunked framing. */
  body: Buffer;
}

/** Parses one complete response (Content-Length, chunked or close-delimited body). */
export function parseResponse(data: Buffer, noBody = false): RawResponse {
  const end = data.indexOf('\r\n\r\n');
  if (end === -1) throw new Error(`incomplete head: ${JSON.stringify(data.toString('latin1'))}`);
  const head = data.subarray(0, end).toString('latin1');
  const lines = head.split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0]!)![1]);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const i = line.indexOf(':');
    const k = line.slice(0, i).toLowerCase();
    const v = line.slice(i + 1).trim();
    headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
  }
  let body = data.subarray(end + 4);
  if (noBody || status === 304 || status === 204) {
    if (body.length !== 0) throw new Error(`unexpected body of ${body.length} bytes`);
  } else if (headers['transfer-encoding'] === 'chunked') {
    const parts: Buffer[] = [];
    let off = 0;
    for (;;) {
      const eol = body.indexOf('\r\n', off);
      const size = parseInt(body.subarray(off, eol).toString('latin1'), 16);
      off = eol + 2;
      if (size === 0) break;
      parts.push(body.subarray(off, off + size));
      off += size + 2;
    }
    body = Buffer.concat(parts);
  } else if (headers['content-length'] !== undefined) {
    const n = Number(headers['content-length']);
    if (body.length !== n) throw new Error(`body is ${body.length} bytes, Content-Length ${n}`);
  }
  return { status, headers, head, body };
}

/** Sends raw bytes on a new connection and reads until the server closes it. */
export function rawExchange(port: number, request: string | Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const sock = net.connect(port, '127.0.0.1', () => sock.write(request));
    sock.on('data', (c) => chunks.push(c));
    sock.on('end', () => resolve(Buffer.concat(chunks)));
    sock.on('error', reject);
  });
}

/**
 * One request with `Connection: close` over a raw socket. `path` is sent exactly as given (no
 * normalisation, unlike fetch), so traversal attempts reach the server unchanged.
 */
export async function request(
  port: number,
  path: string,
  headers: Record<string, string> = {},
  method = 'GET',
): Promise<RawResponse> {
  let text = `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n`;
  for (const [k, v] of Object.entries(headers)) text += `${k}: ${v}\r\n`;
  const data = await rawExchange(port, Buffer.from(`${text}\r\n`, 'latin1'));
  return parseResponse(data, method === 'HEAD');
}
