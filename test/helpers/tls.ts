/**
 * TLS and HTTP/2 test helpers: development certificates (made by `rapid cert`'s code, i.e. the
 * openssl binary), an HTTP/2 client request over node:http2, curl and python3-h2 runners.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { createDevCertificate } from '../../src/cli/cert.js';

export interface CertPair {
  cert: string;
  key: string;
  certPem: string;
  keyPem: string;
}

const dirs: string[] = [];

/** A new temporary directory, removed by cleanupCerts(). */
export function tempDir(prefix = 'rapid-tls-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

/** A self-signed certificate for `names` in its own directory. */
export function makeCert(...names: string[]): CertPair {
  const out = tempDir();
  const c = createDevCertificate({ names, out, days: 2 });
  return { ...c, certPem: readFileSync(c.cert, 'utf8'), keyPem: readFileSync(c.key, 'utf8') };
}

export function cleanupCerts(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

export interface H2Reply {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: Buffer;
}

/** One request on an HTTP/2 session; rejects on a stream error. */
export function h2request(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  body?: string | Buffer,
): Promise<H2Reply> {
  return new Promise((resolve, reject) => {
    const req = session.request(headers, { endStream: body === undefined });
    const chunks: Buffer[] = [];
    let head: http2.IncomingHttpHeaders = {};
    req.on('response', (h) => (head = h));
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () =>
      resolve({ status: Number(head[':status']), headers: head, body: Buffer.concat(chunks) }),
    );
    req.on('error', reject);
    if (body !== undefined) req.end(body);
  });
}

/** Connect an HTTP/2 client (TLS without verification, or h2c for http: URLs). */
export function h2connect(
  origin: string,
  options: http2.SecureClientSessionOptions = {},
): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const s = http2.connect(origin, { rejectUnauthorized: false, ...options });
    s.once('connect', () => {
      s.off('error', reject);
      s.on('error', () => {});
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** A TLS connection (no verification); resolves once the handshake is done. */
export function tlsConnect(
  port: number,
  options: tls.ConnectionOptions = {},
): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options });
    s.once('secureConnect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** The CN of the certificate a server presents for `servername`. */
export async function servedCN(port: number, servername?: string): Promise<string> {
  const s = await tlsConnect(port, servername === undefined ? {} : { servername });
  const cn = s.getPeerCertificate().subject?.CN;
  s.destroy();
  return String(cn);
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run a command (curl, python3) with a generous timeout; never rejects. */
export function run(cmd: string, args: string[], timeoutMs = 60_000): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : null;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

/** Debian's python3 when it has the h2 module (python3-h2), else null. */
export const pythonH2: string | null = (() => {
  for (const py of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(py, ['-c', 'import h2'], { stdio: 'ignore' });
    if (r.status === 0) return py;
  }
  return null;
})();
