/**
 * `createAccessControl(rules, options)`: IP allow/deny lists and HTTP Basic authentication per
 * site and path, compiled at creation into a handler `(req, res, next?)` (docs/access.md).
 *
 * Rules are tried in order and the first whose `path` (and `methods`) match decides, so specific
 * paths go first and a rule without `path` (the whole site) last. A request no rule takes goes on
 * to `next`. Within a rule (Apache semantics):
 * - only allow/deny: a denied address gets 403;
 * - only auth: valid credentials of a permitted user go on, anything else gets 401 with a Basic
 *   challenge (400 for a malformed Basic header);
 * - both, `satisfy: 'all'` (default): the address must be allowed (else 403) and then the
 *   credentials valid (else 401); `satisfy: 'any'`: an allowed address goes on without
 *   credentials, any other needs valid credentials (401).
 *
 * The client address is the socket peer (`req.remoteAddress`); forwarded addresses count only
 * through `trustProxy`, or through `req.ip` when the rules run as middleware of an app (whose own
 * trustProxy setting decided it).
 */
import { resolve } from 'node:path';
import { E, RapidError } from '../../core/errors.js';
import type { RapidRequest, RapidResponse } from '../../core/types.js';
import { compileTrust, resolveProxy, type TrustFn, type TrustProxy } from '../../app/proxy.js';
import { checkKeys, failWith, passOn, refuse, type Fail, type RuleNext } from './common.js';
import { challenge, MALFORMED, NO_CREDENTIALS, parseBasic, realmError } from './basic.js';
import { PasswordFile } from './htpasswd.js';
import { IpMatcher } from './ip.js';
import { canonicalPath, rulePattern, type PathPattern } from './paths.js';

export interface AuthOptions {
  /** Shown by the browser's login prompt (WWW-Authenticate realm). */
  realm: string;
  /** An htpasswd file (relative to baseDir): bcrypt, $apr1$ or {SHA} entries. */
  htpasswd: string;
  /** Only these users of the file (default: every user in it). */
  users?: readonly string[];
}

export interface AccessRule {
  /** Where the rule applies (default: everywhere): "/admin" (and below), "/admin/*", "*.php". */
  path?: string;
  /** Only for these methods (default: all), e.g. ["POST", "PUT", "DELETE"]. */
  methods?: readonly string[];
  /** Addresses, CIDR blocks or sets ("all", "loopback", "linklocal", "uniquelocal"). */
  allow?: readonly string[];
  deny?: readonly string[];
  /** HTTP Basic authentication against an htpasswd file. */
  auth?: AuthOptions;
  /** With both addresses and auth: need both ("all", default) or either ("any"). */
  satisfy?: 'all' | 'any';
}

export interface AccessOptions {
  /** Relative htpasswd paths are resolved against this (default process.cwd()). */
  baseDir?: string;
  /** Believe forwarded client addresses from these proxies (the app's trustProxy values). */
  trustProxy?: TrustProxy;
  /** Match paths case-sensitively (default true; set false when the router ignores case). */
  caseSensitive?: boolean;
  /** How often (ms) htpasswd files are checked for changes, on a request (default 1000). */
  reloadInterval?: number;
  /** How long (ms) verified credentials are remembered (default 60000; 0: never). */
  cacheTtl?: number;
  /** Told when a changed htpasswd file is unreadable or invalid (default: console.error). */
  onError?: (err: RapidError) => void;
}

export type AccessNext = RuleNext;

export interface AccessControl {
  (req: RapidRequest, res: RapidResponse, next?: AccessNext): void | Promise<void>;
  /** Release the htpasswd files (and the bcrypt thread when nothing else uses it). */
  close(): void;
}

interface CompiledAuth {
  readonly file: PasswordFile;
  readonly challenge: string;
  readonly users: ReadonlySet<string> | null;
}

interface CompiledRule {
  readonly pattern: PathPattern | null;
  readonly methods: ReadonlySet<string> | null;
  readonly ip: IpMatcher | null;
  readonly auth: CompiledAuth | null;
  readonly any: boolean;
}

const RULE_KEYS = new Set(['path', 'methods', 'allow', 'deny', 'auth', 'satisfy']);
const AUTH_KEYS = new Set(['realm', 'htpasswd', 'users']);
const OPTION_KEYS = new Set([
  'baseDir',
  'trustProxy',
  'caseSensitive',
  'reloadInterval',
  'cacheTtl',
  'onError',
]);

/** The user an access rule authenticated for this request (for logs and CGI's REMOTE_USER). */
const users = new WeakMap<object, string>();

/** The user name Basic authentication verified for `req`, if any. */
export function remoteUser(req: RapidRequest): string | undefined {
  return users.get(req) ?? users.get((req as { raw?: object }).raw ?? req);
}

const fail: Fail = failWith(E.ACCESS_INVALID_RULE);
const failAddress: Fail = failWith(E.ACCESS_INVALID_ADDRESS);

function stringList(v: unknown, what: string): readonly string[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
    fail(what, 'must be an array of strings');
  }
  return v as string[];
}

function msOption(v: unknown, what: string, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    fail(`options.${what}`, 'must be a non-negative number of milliseconds');
  }
  return v;
}

export function createAccessControl(
  rules: readonly AccessRule[],
  options: AccessOptions = {},
): AccessControl {
  if (!Array.isArray(rules)) fail('rules', 'must be an array');
  if (options === null || typeof options !== 'object') fail('options', 'must be an object');
  checkKeys(options, OPTION_KEYS, 'options', fail);
  const baseDir = options.baseDir ?? process.cwd();
  const caseSensitive = options.caseSensitive ?? true;
  const fileOptions = {
    reloadInterval: msOption(options.reloadInterval, 'reloadInterval', 1000),
    cacheTtl: msOption(options.cacheTtl, 'cacheTtl', 60_000),
    onError: options.onError,
  };
  let trust: TrustFn | null;
  try {
    trust = compileTrust(options.trustProxy);
  } catch (err) {
    fail('options.trustProxy', (err as Error).message);
  }
  const files = new Map<string, PasswordFile>();
  const close = (): void => {
    for (const f of files.values()) f.close();
    files.clear();
  };
  let compiled: CompiledRule[];
  try {
    compiled = rules.map((rule, i) => compileRule(rule, `rules[${i}]`));
  } catch (err) {
    close();
    throw err;
  }

  function compileRule(rule: AccessRule, what: string): CompiledRule {
    if (rule === null || typeof rule !== 'object') fail(what, 'must be an object');
    checkKeys(rule, RULE_KEYS, what, fail);
    const pattern = rulePattern(rule.path, `${what}.path`, caseSensitive, fail);
    let methods: Set<string> | null = null;
    if (rule.methods !== undefined) {
      methods = new Set(stringList(rule.methods, `${what}.methods`));
      if (methods.has('GET')) methods.add('HEAD');
    }
    let ip: IpMatcher | null = null;
    if (rule.allow !== undefined || rule.deny !== undefined) {
      const allow = rule.allow === undefined ? [] : stringList(rule.allow, `${what}.allow`);
      const deny = rule.deny === undefined ? [] : stringList(rule.deny, `${what}.deny`);
      try {
        ip = new IpMatcher(allow, deny);
      } catch (err) {
        failAddress(`${what}.allow/deny`, (err as Error).message);
      }
    }
    if (rule.satisfy !== undefined && rule.satisfy !== 'all' && rule.satisfy !== 'any') {
      fail(`${what}.satisfy`, 'must be "all" or "any"');
    }
    let auth: CompiledAuth | null = null;
    if (rule.auth !== undefined) {
      const a = rule.auth;
      if (a === null || typeof a !== 'object') fail(`${what}.auth`, 'must be an object');
      checkKeys(a, AUTH_KEYS, `${what}.auth`, fail);
      const why = realmError(a.realm);
      if (why !== null) fail(`${what}.auth.realm`, why);
      if (typeof a.htpasswd !== 'string' || a.htpasswd === '') {
        fail(`${what}.auth.htpasswd`, 'must be a file path');
      }
      const path = resolve(baseDir, a.htpasswd);
      let file = files.get(path);
      if (file === undefined) {
        file = new PasswordFile(path, fileOptions);
        files.set(path, file);
      }
      const list = a.users === undefined ? null : stringList(a.users, `${what}.auth.users`);
      auth = { file, challenge: challenge(a.realm), users: list === null ? null : new Set(list) };
    }
    return { pattern, methods, ip, auth, any: rule.satisfy === 'any' };
  }

  const needsPath = compiled.some((r) => r.pattern !== null);

  function clientAddress(req: RapidRequest): string {
    if (trust !== null) return resolveProxy(req.remoteAddress, trust, (n) => req.header(n)).ip;
    const ip = (req as { ip?: unknown }).ip;
    return typeof ip === 'string' ? ip : req.remoteAddress;
  }

  const handler = (
    req: RapidRequest,
    res: RapidResponse,
    next?: AccessNext,
  ): void | Promise<void> => {
    let path: string | null = '';
    if (needsPath) {
      path = canonicalPath(req.path, caseSensitive);
      // Fail closed: a path that cannot be read cannot be matched against the rules.
      if (path === null) return refuse(res, E.ACCESS_BAD_PATH);
    }
    for (let i = 0; i < compiled.length; i++) {
      const rule = compiled[i] as CompiledRule;
      if (rule.methods !== null && !rule.methods.has(req.method)) continue;
      if (rule.pattern !== null && !rule.pattern.test(path)) continue;
      return apply(rule, req, res, next);
    }
    return passOn(res, next);
  };

  function apply(
    rule: CompiledRule,
    req: RapidRequest,
    res: RapidResponse,
    next: AccessNext | undefined,
  ): void | Promise<void> {
    const ipOk = rule.ip === null || rule.ip.allows(clientAddress(req));
    const auth = rule.auth;
    if (auth === null) return ipOk ? passOn(res, next) : refuse(res, E.ACCESS_FORBIDDEN);
    if (rule.any) {
      if (rule.ip !== null && ipOk) return passOn(res, next);
    } else if (!ipOk) {
      return refuse(res, E.ACCESS_FORBIDDEN);
    }
    const creds = parseBasic(req.header('authorization'));
    if (creds === MALFORMED) return refuse(res, E.ACCESS_MALFORMED_CREDENTIALS);
    if (creds === NO_CREDENTIALS) return unauthorized(res, auth);
    const decide = (ok: boolean): void | Promise<void> => {
      if (!ok) return unauthorized(res, auth);
      users.set(req, creds.user);
      const raw = (req as { raw?: object }).raw;
      if (raw !== undefined) users.set(raw, creds.user);
      return passOn(res, next);
    };
    const verify = (): void | Promise<void> => {
      const r = auth.file.verify(creds.user, creds.password, auth.users);
      return typeof r === 'boolean' ? decide(r) : r.then(decide, busy(res));
    };
    const refreshing = auth.file.refresh();
    return refreshing === null ? verify() : refreshing.then(verify);
  }

  return Object.assign(handler, { close });
}

function unauthorized(res: RapidResponse, auth: CompiledAuth): void {
  res.setHeader('WWW-Authenticate', auth.challenge);
  refuse(res, E.ACCESS_UNAUTHORIZED);
}

/** A verification that could not run: 503 when the bcrypt thread is saturated, else rethrown. */
function busy(res: RapidResponse): (err: unknown) => void {
  return (err) => {
    if (!(err instanceof RapidError) || err.code !== E.ACCESS_AUTH_BUSY.code) throw err;
    res.setHeader('Retry-After', '1');
    refuse(res, E.ACCESS_AUTH_BUSY);
  };
}
