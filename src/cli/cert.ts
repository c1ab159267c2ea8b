/**
 * `rapid cert <names...> [--out dir] [--days N]`: a self-signed development certificate whose
 * subjectAltName lists the names (DNS names, IP addresses, `*.wildcards`), made with the openssl
 * binary (an ECDSA P-256 key, SHA-256). Writes cert.pem and key.pem and prints how to use them.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { E, RapidError } from '../core/errors.js';
import { argsErrorLine } from './args.js';

export interface DevCertOptions {
  /** Host names and IP addresses the certificate is for; the first is its CN. */
  names: string[];
  /** Output directory (created if missing; default the current directory). */
  out?: string;
  /** Validity in days (default 365). */
  days?: number;
}

export interface DevCert {
  cert: string;
  key: string;
  names: string[];
  days: number;
}

const NAME =
  /^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/;

function usage(msg: string): never {
  throw new RapidError(E.TLS_INVALID_OPTION, msg);
}

/** Write cert.pem and key.pem (mode 0600) for `names`. Throws a RapidError with one clear line. */
export function createDevCertificate(opts: DevCertOptions): DevCert {
  const names = opts.names;
  if (names.length === 0)
    usage('give at least one host name or IP address, e.g. rapid cert localhost 127.0.0.1');
  const san: string[] = [];
  for (const n of names) {
    if (isIP(n) !== 0) san.push(`IP:${n}`);
    else if (NAME.test(n)) san.push(`DNS:${n}`);
    else usage(`not a host name or IP address: ${JSON.stringify(n)}`);
  }
  const days = opts.days ?? 365;
  if (!Number.isInteger(days) || days < 1 || days > 3650)
    usage(`--days must be a whole number from 1 to 3650, got ${String(days)}`);
  const dir = resolve(opts.out ?? '.');
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new RapidError(E.TLS_CERT_TOOL_FAILED, `cannot create ${dir}: ${(err as Error).message}`);
  }
  const cn = (names[0] as string).replace(/[/=+\\]/g, '');
  const args = [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-sha256',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    String(days),
    '-subj',
    `/CN=${cn}/O=Rapid development certificate`,
    '-addext',
    `subjectAltName=${san.join(',')}`,
    '-addext',
    'basicConstraints=critical,CA:FALSE',
    '-addext',
    'keyUsage=critical,digitalSignature',
    '-addext',
    'extendedKeyUsage=serverAuth',
  ];
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    chmodSync(key, 0o600);
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
    if (e.code === 'ENOENT')
      throw new RapidError(
        E.TLS_CERT_TOOL_FAILED,
        'the openssl command is not installed (apt-get install openssl)',
      );
    const first = (e.stderr?.toString() ?? e.message).trim().split('\n')[0];
    throw new RapidError(E.TLS_CERT_TOOL_FAILED, first);
  }
  return { cert, key, names, days };
}

const USAGE = `Usage: rapid cert <name...> [--out dir] [--days N]

Write a self-signed development certificate (cert.pem, key.pem) for the given host names and
IP addresses, e.g.  rapid cert localhost 127.0.0.1 ::1

Options:
  -o, --out <dir>   where to write cert.pem and key.pem (default: current directory)
      --days <n>    validity in days (default 365)
  -h, --help        show this help`;

/** The command; returns the exit code. Errors are one line on stderr. */
export function certCommand(argv: string[]): number {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        out: { type: 'string', short: 'o' },
        days: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    console.error(`rapid cert: ${argsErrorLine(err)} (see rapid cert --help)`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (values.days !== undefined && !/^\d+$/.test(values.days)) {
    console.error(`rapid cert: --days must be a whole number, got ${JSON.stringify(values.days)}`);
    return 2;
  }
  let made: DevCert;
  try {
    made = createDevCertificate({
      names: positionals,
      out: values.out,
      days: values.days === undefined ? undefined : Number(values.days),
    });
  } catch (err) {
    const e = err as RapidError;
    const msg =
      e.code === E.TLS_CERT_TOOL_FAILED.code
        ? e.message
        : e.message.replace(/^Invalid TLS option: /, '');
    console.error(`rapid cert: ${msg}`);
    return e.code === E.TLS_INVALID_OPTION.code ? 2 : 1;
  }
  const host = isIP(made.names[0] as string) === 6 ? `[${made.names[0]}]` : made.names[0];
  console.log(`rapid: wrote a self-signed certificate for ${made.names.join(', ')} (${made.days} days)
  certificate  ${made.cert}
  key          ${made.key}

Use it:
  rapid ./public --port 8443 --cert ${made.cert} --key ${made.key}
  serve({ port: 8443, tls: { cert: ${JSON.stringify(made.cert)}, key: ${JSON.stringify(made.key)} }, handler })
  curl --cacert ${made.cert} https://${host}:8443/

Browsers will warn: the certificate is self-signed. For development only.`);
  return 0;
}
