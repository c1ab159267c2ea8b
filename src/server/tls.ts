/**
 * TLS listeners (docs/tls.md): certificates from PEM files or strings, per-site certificates by
 * SNI (exact names and `*.example.com` wildcards) with a default, TLS 1.2 and 1.3 only with a
 * modern cipher list, session resumption with ticket keys made per process and rotated, ALPN
 * offering h2 and http/1.1, and reloading every certificate from its files without dropping a
 * connection (new handshakes get the new contexts; open connections keep theirs).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type net from 'node:net';
import { resolve } from 'node:path';
import tls from 'node:tls';
import { E, RapidError } from '../core/errors.js';

export interface TlsCertificate {
  /** PEM text, or the path of a PEM file (resolved against baseDir). */
  cert: string;
  key: string;
  passphrase?: string;
}

export interface TlsOptions {
  /** The default certificate (chain) and key; without them the first `sni` entry is the default. */
  cert?: string;
  key?: string;
  passphrase?: string;
  /** Extra CA certificates (PEM text or paths), e.g. an intermediate not bundled in `cert`. */
  ca?: string | string[];
  /** Oldest protocol accepted (default TLSv1.2; nothing older is ever accepted). */
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** OpenSSL cipher list (TLS 1.2 suites and TLS_* 1.3 suites); default DEFAULT_CIPHERS. */
  ciphers?: string;
  /** Certificates per host name: "example.com", or "*.example.com" for one label below it. */
  sni?: Record<string, TlsCertificate>;
  /** Directory that relative paths are resolved against (default process.cwd()). */
  baseDir?: string;
  /** How often session ticket keys are replaced, in ms (default 12 h; 0 = never). */
  ticketKeyRotation?: number;
}

/**
 * Mozilla's "intermediate" configuration: TLS 1.3 suites, then ECDHE with AEAD ciphers only
 * (forward secrecy, no CBC, no RSA key exchange), all acceptable for HTTP/2 (RFC 9113 §9.2.2).
 */
export const DEFAULT_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

const TWELVE_HOURS = 12 * 60 * 60 * 1000;
const HOST_PATTERN = /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;

function invalid(msg: string): never {
  throw new RapidError(E.TLS_INVALID_OPTION, msg);
}

/** PEM text as given, or read from the file it names. */
function pem(value: unknown, baseDir: string, what: string): string {
  if (typeof value !== 'string' || value.length === 0)
    invalid(`${what} must be PEM text or a path`);
  if (value.includes('-----BEGIN ')) return value;
  const path = resolve(baseDir, value);
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new RapidError(E.TLS_CERT_READ_FAILED, `${what} ${path}: ${code}`, { cause: err });
  }
}

interface Compiled {
  /** Options of the default context (tls.Server takes options, not a context). */
  defaults: tls.SecureContextOptions;
  exact: Map<string, tls.SecureContext>;
  /** "*.example.com" is stored under ".example.com". */
  wild: Map<string, tls.SecureContext>;
}

/** Read every file and build every context; throws a catalog error naming the culprit. */
function compile(o: TlsOptions): Compiled {
  const baseDir = o.baseDir ?? process.cwd();
  const minVersion = o.minVersion ?? 'TLSv1.2';
  if (minVersion !== 'TLSv1.2' && minVersion !== 'TLSv1.3')
    invalid(`minVersion must be "TLSv1.2" or "TLSv1.3", got ${JSON.stringify(minVersion)}`);
  const ciphers = o.ciphers ?? DEFAULT_CIPHERS;
  if (typeof ciphers !== 'string' || ciphers === '') invalid('ciphers must be a cipher list');
  const ca =
    o.ca === undefined
      ? undefined
      : (Array.isArray(o.ca) ? o.ca : [o.ca]).map((c, i) => pem(c, baseDir, `ca[${i}]`));
  const common: tls.SecureContextOptions = { minVersion, ciphers, honorCipherOrder: false };
  if (ca !== undefined) common.ca = ca;
  const optionsFor = (c: Partial<TlsCertificate>, where: string): tls.SecureContextOptions => {
    if (c === null || typeof c !== 'object') invalid(`${where} must be { cert, key }`);
    if (c.passphrase !== undefined && typeof c.passphrase !== 'string')
      invalid(`${where}.passphrase must be a string`);
    const out: tls.SecureContextOptions = {
      ...common,
      cert: pem(c.cert, baseDir, `${where}.cert`),
      key: pem(c.key, baseDir, `${where}.key`),
    };
    if (c.passphrase !== undefined) out.passphrase = c.passphrase;
    return out;
  };
  const context = (opts: tls.SecureContextOptions, where: string): tls.SecureContext => {
    try {
      return tls.createSecureContext(opts);
    } catch (err) {
      const detail = (err as Error).message.replace(/^error:[0-9A-F]+:/, '');
      throw new RapidError(E.TLS_INVALID_CERT, `${where}: ${detail}`, { cause: err });
    }
  };
  const exact = new Map<string, tls.SecureContext>();
  const wild = new Map<string, tls.SecureContext>();
  let firstSni: tls.SecureContextOptions | undefined;
  const sni = o.sni ?? {};
  if (typeof sni !== 'object' || sni === null || Array.isArray(sni))
    invalid('sni must be an object of host name -> { cert, key }');
  for (const [rawName, c] of Object.entries(sni)) {
    const name = rawName.toLowerCase().replace(/\.$/, '');
    if (!HOST_PATTERN.test(name))
      invalid(`sni: ${JSON.stringify(rawName)} is not a host name or *.wildcard`);
    const opts = optionsFor(c, `sni[${JSON.stringify(rawName)}]`);
    const ctx = context(opts, `sni ${rawName}`);
    if (name.startsWith('*.')) wild.set(name.slice(1), ctx);
    else exact.set(name, ctx);
    firstSni ??= opts;
  }
  let defaults: tls.SecureContextOptions;
  if (o.cert !== undefined || o.key !== undefined) {
    defaults = optionsFor({ cert: o.cert, key: o.key, passphrase: o.passphrase }, 'tls');
    context(defaults, 'tls.cert/key');
  } else if (firstSni !== undefined) {
    defaults = firstSni;
  } else {
    invalid('tls needs cert and key (or at least one sni certificate)');
  }
  return { defaults, exact, wild };
}

/** The certificates of one TLS listener, reloadable. */
export class TlsSetup {
  private opts: TlsOptions;
  private compiled: Compiled;
  private server: tls.Server | null = null;
  private ticketKeys = randomBytes(48);
  private rotation: NodeJS.Timeout | null = null;

  /** Validates and loads everything now: a mistake is a RapidError before anything listens. */
  constructor(opts: TlsOptions) {
    if (opts === null || typeof opts !== 'object') invalid('tls must be an object');
    const r = opts.ticketKeyRotation;
    if (r !== undefined && (typeof r !== 'number' || !(r >= 0) || !Number.isFinite(r)))
      invalid('ticketKeyRotation must be a non-negative number of ms');
    this.opts = opts;
    this.compiled = compile(opts);
  }

  /** The context for a client's SNI name: exact, then one-label wildcard, else the default. */
  contextFor(servername: string): tls.SecureContext | undefined {
    const c = this.compiled;
    if (c.exact.size === 0 && c.wild.size === 0) return undefined;
    let name = servername.toLowerCase();
    if (name.endsWith('.')) name = name.slice(0, -1);
    const hit = c.exact.get(name);
    if (hit !== undefined) return hit;
    const dot = name.indexOf('.');
    return dot > 0 ? c.wild.get(name.slice(dot)) : undefined;
  }

  /**
   * A tls.Server (not listening) calling `onSocket` after each handshake. ALPN offers `alpn` in
   * the server's order of preference.
   */
  createServer(
    alpn: string[],
    handshakeTimeout: number,
    onSocket: (socket: net.Socket) => void,
  ): tls.Server {
    const server = tls.createServer(
      {
        ...this.compiled.defaults,
        ALPNProtocols: alpn,
        SNICallback: (name, cb) => cb(null, this.contextFor(name)),
        ticketKeys: this.ticketKeys,
        handshakeTimeout: handshakeTimeout > 0 ? handshakeTimeout : 120_000,
        allowHalfOpen: true,
        noDelay: true,
      } as tls.TlsOptions,
      onSocket,
    );
    server.on('tlsClientError', (_err, socket) => {
      // A failed handshake (wrong protocol, no shared cipher, timeout): nothing to answer.
      socket.destroy();
    });
    const every = this.opts.ticketKeyRotation ?? TWELVE_HOURS;
    if (every > 0) {
      this.rotation = setInterval(() => this.rotateTicketKeys(), every);
      this.rotation.unref();
    }
    this.server = server;
    return server;
  }

  /** New session ticket keys: tickets issued before can no longer resume a session. */
  rotateTicketKeys(): void {
    this.ticketKeys = randomBytes(48);
    this.server?.setTicketKeys(this.ticketKeys);
  }

  /**
   * Read every certificate and key again. New handshakes use them; open connections are not
   * touched. On any error nothing changes and the error is thrown. With `opts`, those become
   * the certificates (a config reload: other files, sites added); ticket key rotation stays.
   */
  reload(opts?: TlsOptions): void {
    const next = compile(opts ?? this.opts);
    if (opts !== undefined) this.opts = { ...opts, ticketKeyRotation: this.opts.ticketKeyRotation };
    this.compiled = next;
    if (this.server !== null) {
      this.server.setSecureContext(next.defaults);
      this.server.setTicketKeys(this.ticketKeys);
    }
  }

  close(): void {
    if (this.rotation !== null) clearInterval(this.rotation);
    this.rotation = null;
  }
}
