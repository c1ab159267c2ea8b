/**
 * `createHeaderRules(rules)`: response headers per path (docs/rules.md). Every rule whose path
 * matches applies, in order: `remove` drops a field, `set` replaces it, `add` appends a field line
 * (keeping those already there). They act on the final head, through RapidResponse.onHead: after
 * the handler has set its headers, whichever way the response is sent (whole, streamed, prepared
 * by the static file cache, error pages), so a rule can remove or replace what a handler set.
 *
 * Cost: the handler registers one hook per request; the hook decides which rules match (on the
 * path as it is when the head is written, so after rewrites) and applies a plan compiled once per
 * combination of matching rules. Prepared header blocks are filtered once per distinct block.
 */
import { E } from '../../core/errors.js';
import type { HeadHook, RapidRequest, RapidResponse } from '../../core/types.js';
import { isFieldValue, isToken } from '../../util/ascii.js';
import { checkKeys, failWith, passOn, type Fail, type RuleNext } from '../access/common.js';
import { canonicalPath, rulePattern, type PathPattern } from '../access/paths.js';

export interface HeaderRule {
  /** Where the rule applies (default: everywhere); the path patterns of access rules. */
  path?: string;
  /** Replace these fields (whatever the handler set). */
  set?: Readonly<Record<string, string>>;
  /** Append these field lines (an array for several lines of one field). */
  add?: Readonly<Record<string, string | readonly string[]>>;
  /** Drop these fields. */
  remove?: readonly string[];
}

export interface HeaderRulesOptions {
  /** Match paths case-sensitively (default true). */
  caseSensitive?: boolean;
}

export interface HeaderRules {
  (req: RapidRequest, res: RapidResponse, next?: RuleNext): void | Promise<void>;
  close(): void;
}

/** Fields the engine owns: framing and connection management (RFC 9110 §7.6.1, RFC 9112 §6). */
const ENGINE_FIELDS = new Set([
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'proxy-connection',
  'upgrade',
  'te',
  'trailer',
]);
const KEYS = new Set(['path', 'set', 'add', 'remove']);
const fail: Fail = failWith(E.ACCESS_INVALID_HEADER_RULE);

const OP_REMOVE = 0;
const OP_SET = 1;
const OP_ADD = 2;

interface Op {
  readonly kind: number;
  readonly name: string;
  readonly value: string | readonly string[];
}

interface Compiled {
  readonly pattern: PathPattern | null;
  readonly ops: readonly Op[];
}

/** What a set of matching rules does, compiled once. */
class Plan {
  readonly hook: HeadHook;
  /** Lowercase names whose lines leave a prepared block (removed or replaced). */
  private readonly strip: ReadonlySet<string>;
  private readonly blocks = new Map<string, string>();

  constructor(private readonly ops: readonly Op[]) {
    this.strip = new Set(ops.filter((o) => o.kind !== OP_ADD).map((o) => o.name.toLowerCase()));
    this.hook = (res, block) => this.apply(res, block);
  }

  apply(res: RapidResponse, block: string): string {
    const ops = this.ops;
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i] as Op;
      if (op.kind === OP_REMOVE) res.removeHeader(op.name);
      else if (op.kind === OP_SET) res.setHeader(op.name, op.value);
      else res.appendHeader(op.name, op.value);
    }
    if (block === '' || this.strip.size === 0) return block;
    let out = this.blocks.get(block);
    if (out === undefined) {
      out = '';
      for (const line of block.split('\r\n')) {
        if (line === '') continue;
        const name = line.slice(0, line.indexOf(':')).toLowerCase();
        if (!this.strip.has(name)) out += `${line}\r\n`;
      }
      // Blocks come from a cache (a few per file), but bound the memo all the same.
      if (this.blocks.size >= 256) this.blocks.clear();
      this.blocks.set(block, out);
    }
    return out;
  }
}

function fieldName(name: unknown, what: string): string {
  if (typeof name !== 'string' || !isToken(name))
    fail(what, `${JSON.stringify(name)} is not a field name`);
  if (ENGINE_FIELDS.has(name.toLowerCase())) {
    fail(what, `${name} is managed by the server (message framing and connection handling)`);
  }
  return name;
}

function fieldValue(value: unknown, what: string): string {
  if (typeof value !== 'string' || !isFieldValue(value)) {
    fail(what, 'must be a string without control characters');
  }
  return value;
}

function compileRule(rule: HeaderRule, what: string, caseSensitive: boolean): Compiled {
  if (rule === null || typeof rule !== 'object') fail(what, 'must be an object');
  checkKeys(rule, KEYS, what, fail);
  const pattern = rulePattern(rule.path, `${what}.path`, caseSensitive, fail);
  const ops: Op[] = [];
  const record = (v: unknown, key: string): Record<string, unknown> => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      fail(`${what}.${key}`, 'must be an object of field names to values');
    }
    return v as Record<string, unknown>;
  };
  if (rule.remove !== undefined) {
    if (!Array.isArray(rule.remove)) fail(`${what}.remove`, 'must be an array of field names');
    rule.remove.forEach((n, i) => {
      const name = fieldName(n, `${what}.remove[${i}]`);
      if (name.toLowerCase() === 'date') fail(`${what}.remove[${i}]`, 'Date is always sent');
      ops.push({ kind: OP_REMOVE, name, value: '' });
    });
  }
  if (rule.set !== undefined) {
    for (const [n, v] of Object.entries(record(rule.set, 'set'))) {
      const name = fieldName(n, `${what}.set`);
      ops.push({ kind: OP_SET, name, value: fieldValue(v, `${what}.set.${n}`) });
    }
  }
  if (rule.add !== undefined) {
    for (const [n, v] of Object.entries(record(rule.add, 'add'))) {
      const name = fieldName(n, `${what}.add`);
      const values = Array.isArray(v) ? v : [v];
      if (values.length === 0) fail(`${what}.add.${n}`, 'must have a value');
      values.forEach((x, i) => fieldValue(x, `${what}.add.${n}[${i}]`));
      ops.push({ kind: OP_ADD, name, value: values as string[] });
    }
  }
  return { pattern, ops };
}

export function createHeaderRules(
  rules: readonly HeaderRule[],
  options: HeaderRulesOptions = {},
): HeaderRules {
  if (!Array.isArray(rules)) fail('rules', 'must be an array');
  if (options === null || typeof options !== 'object') fail('options', 'must be an object');
  checkKeys(options, new Set(['caseSensitive']), 'options', fail);
  const caseSensitive = options.caseSensitive ?? true;
  const compiled = rules.map((r, i) => compileRule(r, `rules[${i}]`, caseSensitive));
  // Plans by the set of matching rules: a bit mask while there are at most 31 rules (no string
  // built per response), the list of indices beyond that.
  const plans = new Map<number | string, Plan>();
  const small = compiled.length <= 31;
  const planFor = (key: number | string, matched: () => Compiled[]): Plan => {
    let plan = plans.get(key);
    if (plan === undefined) {
      plan = new Plan(matched().flatMap((c) => c.ops));
      plans.set(key, plan);
    }
    return plan;
  };

  let handler: (req: RapidRequest, res: RapidResponse, next?: RuleNext) => void | Promise<void>;
  if (compiled.length === 0) {
    handler = (_req, res, next) => passOn(res, next);
  } else if (compiled.every((c) => c.pattern === null)) {
    // No paths: one plan for every response, and no closure per request.
    const hook = planFor(0, () => compiled).hook;
    handler = (_req, res, next) => {
      res.onHead(hook);
      return passOn(res, next);
    };
  } else {
    const byPath = (req: RapidRequest): Plan | null => {
      // A path that cannot be decoded matches only the rules without a path.
      const path = canonicalPath(req.path, caseSensitive);
      let mask = 0;
      let list = '';
      for (let i = 0; i < compiled.length; i++) {
        const p = (compiled[i] as Compiled).pattern;
        if (p !== null && (path === null || !p.test(path))) continue;
        if (small) mask |= 1 << i;
        else list += `${i},`;
      }
      if (mask === 0 && list === '') return null;
      const key = small ? mask : list;
      return planFor(key, () =>
        compiled.filter((_c, i) =>
          small ? (mask & (1 << i)) !== 0 : list.split(',').includes(String(i)),
        ),
      );
    };
    handler = (req, res, next) => {
      res.onHead((r, block) => {
        const plan = byPath(req);
        return plan === null ? block : plan.apply(r, block);
      });
      return passOn(res, next);
    };
  }
  return Object.assign(handler, { close: () => {} });
}
