/**
 * Checks a loaded tree (tree.ts) against the schema (schema.ts) and builds the model: defaults
 * filled in, durations and sizes turned into numbers, XML text given its type. Every problem is
 * collected as an issue naming the file, position, setting path and what was expected; unknown
 * settings get a "did you mean" suggestion. Returns the value, or INVALID for a node that did
 * not check (its issues are in the context).
 */
import { Kind, OptionalKind, type TSchema } from '@sinclair/typebox';
import { E, suggest, type ConfigIssue } from './issues.js';
import { keywords, type FeatureName } from './schema.js';
import { treeFromValue, type Node, type ObjectEntry, type Pos } from './tree.js';

export const INVALID: unique symbol = Symbol('invalid');

export interface ValidateContext {
  readonly file: string;
  /** Whether this build has the factory a feature needs. */
  readonly available: (feature: FeatureName) => boolean;
  readonly issues: ConfigIssue[];
  /** Where each setting was written, by path. */
  readonly positions: Map<string, Pos | null>;
}

type S = TSchema & Record<string | symbol, unknown>;

const DURATION_RE = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/;
const DURATION_UNIT: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};
const SIZE_RE = /^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b?|b)?\s*$/i;
const SIZE_UNIT: Record<string, number> = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** "75s" -> 75000; a bare number is milliseconds. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION_RE.exec(text);
  if (m === null) return undefined;
  return Math.round(Number(m[1]) * DURATION_UNIT[m[2] ?? 'ms']!);
}

/** "64k", "1mb", "2MiB" -> bytes (binary units); a bare number is bytes. */
export function parseSize(text: string): number | undefined {
  const m = SIZE_RE.exec(text);
  if (m === null) return undefined;
  return Math.round(Number(m[1]) * SIZE_UNIT[(m[2] ?? 'b')[0]!.toLowerCase()]!);
}

export function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  if (!/^[A-Za-z_$][\w$]*$/.test(key)) return `${path}[${JSON.stringify(key)}]`;
  return path === '' ? key : `${path}.${key}`;
}

function isOptional(schema: TSchema): boolean {
  return (schema as S)[OptionalKind] === 'Optional';
}

function kindOf(schema: TSchema): string {
  return (schema as S)[Kind] as string;
}

/** What a schema accepts, in words. */
export function describe(schema: TSchema): string {
  const s = schema as S;
  const kw = keywords(schema);
  if (kw.kind === 'duration')
    return 'a duration such as "75s", "2m" or "500ms" (a number is milliseconds)';
  if (kw.kind === 'size') return 'a size such as "64kb" or "1mb" (a number is bytes)';
  switch (kindOf(schema)) {
    case 'String':
      return 'a string';
    case 'Boolean':
      return 'true or false';
    case 'Integer':
    case 'Number': {
      const noun = kindOf(schema) === 'Integer' ? 'an integer' : 'a number';
      const min = s.minimum as number | undefined;
      const max = s.maximum as number | undefined;
      if (min !== undefined && max !== undefined) return `${noun} from ${min} to ${max}`;
      if (min !== undefined)
        return min === 0
          ? `a non-negative ${noun.replace(/^an? /, '')}`
          : `${noun} of at least ${min}`;
      return noun;
    }
    case 'Literal':
      return JSON.stringify(s.const);
    case 'Union': {
      const variants = s.anyOf as TSchema[];
      if (variants.every((v) => kindOf(v) === 'Literal')) {
        const names = variants.map(describe);
        return `one of ${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`;
      }
      if (keywords(schema).discriminator !== undefined) return 'a group of settings';
      return variants.map(describe).join(' or ');
    }
    case 'Array':
      return `a list of ${plural(describe(s.items as TSchema))}`;
    case 'Record':
      return 'a table of names to values';
    case 'Object':
      return 'a group of settings';
    default:
      return 'a value';
  }
}

function plural(what: string): string {
  const w = what.replace(/^an? /, '');
  if (w.startsWith('group of settings')) return w.replace('group', 'groups');
  return w.replace(/^(string|integer|number|duration|size)\b/, '$1s');
}

/** The given value, in words. */
export function got(node: Node): string {
  switch (node.kind) {
    case 'scalar': {
      if (typeof node.value === 'string') {
        const t = node.value.length > 40 ? `${node.value.slice(0, 40)}...` : node.value;
        return JSON.stringify(t);
      }
      return String(node.value);
    }
    case 'array':
      return 'a list';
    case 'object':
      return 'a group of settings';
    case 'opaque':
      return node.what;
  }
}

function issue(
  ctx: ValidateContext,
  spec: ConfigIssue['spec'],
  pos: Pos | null,
  path: string,
  message: string,
): typeof INVALID {
  ctx.issues.push({ spec, file: ctx.file, pos, path, message });
  return INVALID;
}

function expected(ctx: ValidateContext, schema: TSchema, node: Node, path: string): typeof INVALID {
  return issue(
    ctx,
    E.CONFIG_INVALID_VALUE,
    node.pos,
    path,
    `expected ${describe(schema)}, got ${got(node)}`,
  );
}

function parseBoolean(text: string): boolean | undefined {
  if (/^(true|yes|on)$/i.test(text)) return true;
  if (/^(false|no|off)$/i.test(text)) return false;
  return undefined;
}

function parseNumber(text: string, integer: boolean): number | undefined {
  const re = integer ? /^\s*[+-]?\d+\s*$/ : /^\s*[+-]?\d+(\.\d+)?\s*$/;
  return re.test(text) ? Number(text) : undefined;
}

function numeric(schema: TSchema, node: Node, path: string, ctx: ValidateContext): unknown {
  const kind = keywords(schema).kind;
  if (node.kind === 'scalar') {
    let v: number | undefined;
    if (typeof node.value === 'number')
      v = node.value >= 0 && Number.isFinite(node.value) ? node.value : undefined;
    else if (typeof node.value === 'string')
      v = kind === 'duration' ? parseDuration(node.value) : parseSize(node.value);
    if (v !== undefined) return kind === 'size' ? Math.round(v) : v;
  }
  return expected(ctx, schema, node, path);
}

function scalar(schema: TSchema, node: Node, path: string, ctx: ValidateContext): unknown {
  if (node.kind !== 'scalar') return expected(ctx, schema, node, path);
  const s = schema as S;
  const value = node.value;
  switch (kindOf(schema)) {
    case 'String': {
      let v: string | undefined;
      if (typeof value === 'string') v = value;
      else if (typeof value === 'number') v = String(value);
      if (v === undefined) return expected(ctx, schema, node, path);
      if (typeof s.minLength === 'number' && v.length < s.minLength)
        return expected(ctx, schema, node, path);
      return v;
    }
    case 'Boolean': {
      const v =
        typeof value === 'boolean'
          ? value
          : node.text && typeof value === 'string'
            ? parseBoolean(value)
            : undefined;
      return v === undefined ? expected(ctx, schema, node, path) : v;
    }
    case 'Integer':
    case 'Number': {
      const integer = kindOf(schema) === 'Integer';
      const v =
        typeof value === 'number'
          ? value
          : node.text && typeof value === 'string'
            ? parseNumber(value, integer)
            : undefined;
      if (v === undefined || !Number.isFinite(v) || (integer && !Number.isInteger(v)))
        return expected(ctx, schema, node, path);
      if (typeof s.minimum === 'number' && v < s.minimum) return expected(ctx, schema, node, path);
      if (typeof s.maximum === 'number' && v > s.maximum) return expected(ctx, schema, node, path);
      return v;
    }
    case 'Literal': {
      const want = s.const;
      let v: unknown = value;
      if (node.text && typeof value === 'string') {
        if (typeof want === 'number') v = parseNumber(value, false);
        else if (typeof want === 'boolean') v = parseBoolean(value);
      }
      return v === want ? want : expected(ctx, schema, node, path);
    }
    default:
      return expected(ctx, schema, node, path);
  }
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  return ka.every((key) =>
    deepEqual((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]),
  );
}

function defaultValue(schema: TSchema, path: string, ctx: ValidateContext): unknown {
  // The default is written as a file would write it ("75s"), so it goes through the same checks.
  const sub: ValidateContext = { ...ctx, positions: new Map() };
  return check(schema, treeFromValue((schema as S).default), path, sub);
}

const FEATURE_WORDS: Record<FeatureName, string> = {
  fastcgi: 'FastCGI handlers are',
  cgi: 'CGI handlers are',
  proxy: 'proxy handlers are',
  access: 'access rules are',
  headers: 'response header rules are',
  redirects: 'redirects are',
  rewrites: 'rewrites are',
  tls: 'TLS is',
  http2: 'HTTP/2 is',
  accessLog: 'the access log is',
  errorLog: 'the error log is',
  workers: 'worker processes are',
  status: 'the status endpoint is',
};

function notAvailable(
  ctx: ValidateContext,
  feature: FeatureName,
  pos: Pos | null,
  path: string,
): typeof INVALID {
  return issue(
    ctx,
    E.CONFIG_NOT_AVAILABLE,
    pos,
    path,
    `${FEATURE_WORDS[feature]} not available in this build of Rapid (no "${feature}" factory)`,
  );
}

/** Top-level settings people put in a site by habit (Apache allows KeepAlive per vhost). */
export const SERVER_WIDE: ReadonlySet<string> = new Set([
  'keepAlive',
  'limits',
  'listeners',
  'shutdownTimeout',
  'workers',
  'errorLog',
  'status',
]);

function object(schema: TSchema, node: Node, path: string, ctx: ValidateContext): unknown {
  if (node.kind !== 'object') return expected(ctx, schema, node, path);
  const props = (schema as S).properties as Record<string, TSchema>;
  const out: Record<string, unknown> = {};
  let ok = true;
  const given = new Map<string, ObjectEntry>();
  for (const entry of node.entries) {
    const p = join(path, entry.key);
    const prop = Object.hasOwn(props, entry.key) ? props[entry.key] : undefined;
    if (prop === undefined) {
      const near = suggest(entry.key, Object.keys(props));
      const wide = path !== '' && SERVER_WIDE.has(entry.key);
      issue(
        ctx,
        E.CONFIG_UNKNOWN_SETTING,
        entry.keyPos ?? entry.value.pos ?? node.pos,
        p,
        wide
          ? `"${entry.key}" applies to the whole server (connections are not per site): set it at the top level`
          : near !== undefined
            ? `unknown setting "${entry.key}"; did you mean "${near}"?`
            : `unknown setting "${entry.key}" (known here: ${Object.keys(props).join(', ')})`,
      );
      ok = false;
      continue;
    }
    if (given.has(entry.key)) {
      issue(
        ctx,
        E.CONFIG_INVALID_VALUE,
        entry.keyPos ?? entry.value.pos,
        p,
        `"${entry.key}" is given more than once`,
      );
      ok = false;
      continue;
    }
    given.set(entry.key, entry);
    const pos = entry.keyPos ?? entry.value.pos;
    ctx.positions.set(p, pos);
    const value = check(prop, entry.value, p, ctx);
    if (value === INVALID) {
      ok = false;
      continue;
    }
    const feature = keywords(prop).feature;
    if (feature !== undefined && !ctx.available(feature)) {
      const d = (prop as S).default;
      if (d === undefined || !deepEqual(value, defaultValue(prop, p, ctx))) {
        notAvailable(ctx, feature, pos, p);
        ok = false;
        continue;
      }
    }
    out[entry.key] = value;
  }
  for (const [key, prop] of Object.entries(props)) {
    if (given.has(key)) continue;
    if ((prop as S).default !== undefined) {
      const v = defaultValue(prop, join(path, key), ctx);
      if (v === INVALID) ok = false;
      else out[key] = v;
    } else if (!isOptional(prop)) {
      issue(
        ctx,
        E.CONFIG_MISSING_SETTING,
        node.pos,
        join(path, key),
        `missing required setting "${key}" (${describe(prop)})`,
      );
      ok = false;
    }
  }
  if (!ok) return INVALID;
  // The model lists settings in schema order, whatever order the file gave them in.
  const ordered: Record<string, unknown> = {};
  for (const key of Object.keys(props)) if (Object.hasOwn(out, key)) ordered[key] = out[key];
  return ordered;
}

/** A text node read as a comma-separated list (XML attributes). */
function splitText(node: Node): Node {
  if (node.kind !== 'scalar' || !node.text || typeof node.value !== 'string') return node;
  const parts = node.value
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x.length > 0);
  return {
    kind: 'array',
    pos: node.pos,
    items: parts.map((value) => ({ kind: 'scalar', pos: node.pos, value, text: true })),
  };
}

function array(schema: TSchema, node: Node, path: string, ctx: ValidateContext): unknown {
  node = splitText(node);
  if (node.kind !== 'array') return expected(ctx, schema, node, path);
  const item = (schema as S).items as TSchema;
  const out: unknown[] = [];
  let ok = true;
  node.items.forEach((n, i) => {
    const p = join(path, i);
    ctx.positions.set(p, n.pos);
    const v = check(item, n, p, ctx);
    if (v === INVALID) ok = false;
    else out.push(v);
  });
  const min = (schema as S).minItems as number | undefined;
  if (ok && min !== undefined && out.length < min) {
    return issue(
      ctx,
      E.CONFIG_INVALID_VALUE,
      node.pos,
      path,
      `expected at least ${min} item${min === 1 ? '' : 's'}, got ${out.length}`,
    );
  }
  return ok ? out : INVALID;
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

function record(schema: TSchema, node: Node, path: string, ctx: ValidateContext): unknown {
  if (node.kind !== 'object') return expected(ctx, schema, node, path);
  const valueSchema =
    ((schema as S).patternProperties as Record<string, TSchema>)['^(.*)$'] ??
    Object.values((schema as S).patternProperties as Record<string, TSchema>)[0]!;
  const out: Record<string, unknown> = {};
  let ok = true;
  for (const entry of node.entries) {
    const p = join(path, entry.key);
    const pos = entry.keyPos ?? entry.value.pos;
    ctx.positions.set(p, pos);
    if (entry.key.length === 0 || FORBIDDEN_KEYS.has(entry.key)) {
      issue(ctx, E.CONFIG_INVALID_VALUE, pos, p, `"${entry.key}" cannot be used as a name here`);
      ok = false;
      continue;
    }
    if (Object.hasOwn(out, entry.key)) {
      issue(ctx, E.CONFIG_INVALID_VALUE, pos, p, `"${entry.key}" is given more than once`);
      ok = false;
      continue;
    }
    const v = check(valueSchema, entry.value, p, ctx);
    if (v === INVALID) ok = false;
    else out[entry.key] = v;
  }
  return ok ? out : INVALID;
}

function shapeOf(schema: TSchema): Node['kind'] {
  switch (kindOf(schema)) {
    case 'Object':
    case 'Record':
      return 'object';
    case 'Array':
      return 'array';
    default:
      return 'scalar';
  }
}

function discriminated(schema: TSchema, node: Node, path: string, ctx: ValidateContext): unknown {
  if (node.kind !== 'object') return expected(ctx, schema, node, path);
  const key = keywords(schema).discriminator!;
  const variants = (schema as S).anyOf as TSchema[];
  const names = variants.map(
    (v) => ((v as S).properties as Record<string, S>)[key]!.const as string,
  );
  const entry = node.entries.find((e) => e.key === key);
  const list = names.map((n) => `"${n}"`).join(', ');
  if (entry === undefined) {
    return issue(
      ctx,
      E.CONFIG_MISSING_SETTING,
      node.pos,
      join(path, key),
      `missing required setting "${key}" (one of ${list})`,
    );
  }
  const name = entry.value.kind === 'scalar' ? entry.value.value : undefined;
  const i = names.indexOf(name as string);
  if (i === -1) {
    const near = typeof name === 'string' ? suggest(name, names) : undefined;
    return issue(
      ctx,
      E.CONFIG_INVALID_VALUE,
      entry.value.pos ?? entry.keyPos,
      join(path, key),
      `expected one of ${list}, got ${got(entry.value)}${near !== undefined ? `; did you mean "${near}"?` : ''}`,
    );
  }
  const variant = variants[i]!;
  const feature = keywords(variant).feature;
  if (feature !== undefined && !ctx.available(feature)) {
    return notAvailable(ctx, feature, entry.keyPos ?? node.pos, path);
  }
  return object(variant, node, path, ctx);
}

function union(schema: TSchema, node: Node, path: string, ctx: ValidateContext): unknown {
  const variants = (schema as S).anyOf as TSchema[];
  const attempts: ConfigIssue[][] = [];
  for (const v of variants) {
    const sub: ValidateContext = { ...ctx, issues: [], positions: new Map() };
    const value = check(v, node, path, sub);
    if (value !== INVALID) {
      for (const [k, p] of sub.positions) ctx.positions.set(k, p);
      return value;
    }
    attempts.push(sub.issues);
  }
  // When only one variant has the shape given (a list, a group), its complaint is the useful one.
  const shape = splitText(node).kind;
  const same = variants.map((v, i) => [v, i] as const).filter(([v]) => shapeOf(v) === shape);
  if (same.length === 1 && shape !== 'scalar') {
    ctx.issues.push(...attempts[same[0]![1]]!);
    return INVALID;
  }
  return expected(ctx, schema, node, path);
}

/** Check `node` against `schema`; the model value, or INVALID with issues in `ctx`. */
export function check(schema: TSchema, node: Node, path: string, ctx: ValidateContext): unknown {
  const kw = keywords(schema);
  if (kw.kind !== undefined) return numeric(schema, node, path, ctx);
  switch (kindOf(schema)) {
    case 'Object':
      return object(schema, node, path, ctx);
    case 'Array':
      return array(schema, node, path, ctx);
    case 'Record':
      return record(schema, node, path, ctx);
    case 'Union':
      return kw.discriminator !== undefined
        ? discriminated(schema, node, path, ctx)
        : union(schema, node, path, ctx);
    default:
      return scalar(schema, node, path, ctx);
  }
}
