/**
 * A radix-tree router (after find-my-way's lib/node.js): static text is compressed into prefix
 * edges that may span segments, parameters consume a segment (or the part of one before the next
 * static text), a wildcard consumes the rest. Everything is compiled when a route is added; a
 * lookup is a walk with charCode compares and no allocation until the result (none at all for a
 * route without parameters), and never throws.
 *
 * Priority at every position: static text > regex-constrained parameter (in registration order) >
 * plain parameter > wildcard > mount. The walk backtracks: a branch that matches the path but not
 * the method gives way to a lower-priority branch that has the method (GET /users/new can reach
 * GET /users/:id when /users/new only has POST). Each tree node is tried at one path offset at
 * most, so a lookup costs at most one visit per node.
 */
import { E, RapidError } from '../core/errors.js';
import { isToken } from '../util/ascii.js';
import { finishParam, foldAscii, matchForm, parsePattern, type Token } from './path.js';
import {
  ANY_METHOD,
  type BadUrl,
  type Found,
  type MethodNotAllowed,
  type NotFound,
  type OptionsAllowed,
  type Params,
  type Redirect,
  type RouteInfo,
  type RouteMatch,
  type Router,
  type RouterOptions,
} from './types.js';

const SLASH = 0x2f;
const DEFAULT_MAX_PARAM_LENGTH = 1024;

/** Prototype-free objects that still get a stable hidden class per route (find-my-way's
 * NullObject): cheaper to create than Object.create(null), which starts in dictionary mode. */
const NullParams = function NullParams() {} as unknown as new () => Params;
NullParams.prototype = Object.create(null) as object;

const EMPTY_PARAMS: Params = Object.freeze(new NullParams());

/**
 * Every result has this one shape, so the app's `switch (m.kind)` and field reads stay
 * monomorphic. The exported types narrow them by `kind` and are read-only; the results shared
 * between lookups (misses, routes without parameters) are frozen, per-lookup ones are not (freezing
 * costs a hidden-class transition per lookup).
 */
class Result<T> {
  constructor(
    readonly kind: RouteMatch<T>['kind'],
    readonly store: T | undefined,
    readonly params: Params | undefined,
    readonly route: RouteInfo<T> | undefined,
    readonly rest: string | null,
    readonly allow: string | undefined,
    readonly location: string | undefined,
  ) {}
}

const NOT_FOUND = Object.freeze(
  new Result<never>('not-found', undefined, undefined, undefined, null, undefined, undefined),
) as unknown as NotFound;
const BAD_URL = Object.freeze(
  new Result<never>('bad-url', undefined, undefined, undefined, null, undefined, undefined),
) as unknown as BadUrl;

/** A registered route: the public description plus what lookups need precomputed. */
class Route<T> {
  /** What results and `routes()` expose: a plain frozen object, safe to log or serialise. */
  readonly info: RouteInfo<T>;
  /** The whole answer for a route without parameters, built once and shared by every lookup. */
  readonly found: Found<T> | null;
  constructor(
    readonly method: string,
    readonly path: string,
    readonly store: T,
    readonly paramNames: readonly string[],
    readonly mount: boolean,
  ) {
    this.info = Object.freeze({
      method,
      path,
      store,
      paramNames: Object.freeze(paramNames),
      mount,
    });
    this.found =
      paramNames.length === 0 && !mount
        ? (Object.freeze(
            new Result<T>('found', store, EMPTY_PARAMS, this.info, null, undefined, undefined),
          ) as Found<T>)
        : null;
  }
}

/** The routes that end at one tree position, by method. */
class MethodTable<T> {
  /** Explicit methods, plus HEAD answered by the GET route when HEAD has none of its own. */
  readonly map = new Map<string, Route<T>>();
  any: Route<T> | null = null;
  autoHead = false;
  /** Sorted methods this position answers (with HEAD for GET; 'ALL' when `any`). */
  methods: readonly string[] = [];
  /** The Allow field value when this is the only matching position (RFC 9110 §10.2.1). */
  allow = '';

  conflict(method: string): Route<T> | null {
    if (method === ANY_METHOD) return this.any;
    if (method === 'HEAD' && this.autoHead) return null;
    return this.map.get(method) ?? null;
  }

  add(method: string, route: Route<T>): void {
    if (method === ANY_METHOD) {
      this.any = route;
    } else {
      if (method === 'HEAD') this.autoHead = false;
      this.map.set(method, route);
      // RFC 9110 §9.3.2: HEAD is GET without the content; the engine drops the body.
      if (method === 'GET' && !this.map.has('HEAD')) {
        this.map.set('HEAD', route);
        this.autoHead = true;
      }
    }
    const methods = [...this.map.keys()];
    if (this.any !== null) methods.push(ANY_METHOD);
    this.methods = methods.sort();
    this.allow = allowValue(methods);
  }
}

/** The Allow value for a set of methods: sorted, with OPTIONS (answered automatically). */
function allowValue(methods: readonly string[]): string {
  const set = new Set(methods);
  set.delete(ANY_METHOD);
  set.add('OPTIONS');
  return [...set].sort().join(', ');
}

class Node<T> {
  /** First char codes (folded when case-insensitive) of `children`, scanned linearly: fan-out
   * is small and a number array beats a Map lookup at these sizes. */
  labels: number[] = [];
  children: Node<T>[] = [];
  /** Parameter children: regex-constrained ones first in registration order, the plain one last. */
  params: Node<T>[] = [];
  /** For a parameter node: the static children that continue the same segment (":a-:b"). */
  inSegment: Node<T>[] = [];
  routes: MethodTable<T> | null = null;
  wildcard: MethodTable<T> | null = null;
  stem: MethodTable<T> | null = null;
  readonly regex: RegExp | null;

  constructor(
    /** Static text this node matches (empty for parameter nodes and the root). */
    public prefix: string,
    readonly isParam: boolean,
    readonly regexSource: string | null,
  ) {
    this.regex = regexSource === null ? null : new RegExp(`^(?:${regexSource})$`);
  }

  addChild(child: Node<T>): void {
    this.labels.push(child.prefix.charCodeAt(0));
    this.children.push(child);
    if (this.isParam && child.prefix.charCodeAt(0) !== SLASH) this.inSegment.push(child);
  }

  /** Split this node's prefix at `at`: the tail and everything below it move to a new child. */
  split(at: number): void {
    const tail = new Node<T>(this.prefix.slice(at), false, null);
    tail.labels = this.labels;
    tail.children = this.children;
    tail.params = this.params;
    tail.routes = this.routes;
    tail.wildcard = this.wildcard;
    tail.stem = this.stem;
    this.prefix = this.prefix.slice(0, at);
    this.labels = [];
    this.children = [];
    this.params = [];
    this.routes = null;
    this.wildcard = null;
    this.stem = null;
    this.addChild(tail);
  }
}

type Slot = 'routes' | 'wildcard' | 'stem';

export class RadixRouter<T> implements Router<T> {
  readonly name = 'radix';
  readonly #root = new Node<T>('', false, null);
  readonly #fold: boolean;
  readonly #slash: 'strict' | 'ignore' | 'redirect';
  readonly #maxParam: number;
  readonly #routes: RouteInfo<T>[] = [];
  /**
   * Routes made of static text only, by their whole match form (case-sensitive routers only):
   * one Map hit answers them without walking the tree. The tables are the tree's own, and the
   * walk would reach the same table first (static text outranks everything), so both agree.
   */
  readonly #static = new Map<string, MethodTable<T>>();

  // Per-lookup state. Lookups are synchronous and call no user code but RegExp#test, so one set
  // of fields per router serves every lookup without allocation.
  #path = '';
  #method = '';
  #collecting = false;
  #hits: MethodTable<T>[] = [];
  #restPos = 0;
  /** Parameter offsets in the match form: [start0, end0, start1, end1, ...]. */
  #stack = new Int32Array(16);
  #sp = 0;

  constructor(options: RouterOptions = {}) {
    const { caseSensitive = true, trailingSlash = 'strict', maxParamLength } = options;
    if (trailingSlash !== 'strict' && trailingSlash !== 'ignore' && trailingSlash !== 'redirect') {
      throw new RapidError(E.INVALID_OPTION, `router trailingSlash: ${String(trailingSlash)}`);
    }
    const max = maxParamLength ?? DEFAULT_MAX_PARAM_LENGTH;
    if (!Number.isInteger(max) || max < 1) {
      throw new RapidError(E.INVALID_OPTION, `router maxParamLength: ${String(maxParamLength)}`);
    }
    this.#fold = !caseSensitive;
    this.#slash = trailingSlash;
    this.#maxParam = max;
  }

  // ---------------------------------------------------------------------------------------------
  // Registration

  add(method: string | readonly string[], path: string, store: T): void {
    const methods = typeof method === 'string' ? [method] : [...method];
    if (methods.length === 0) throw new RapidError(E.ROUTER_INVALID_METHOD, 'no method given');
    for (let i = 0; i < methods.length; i++) {
      const m = methods[i];
      if (typeof m !== 'string' || !isToken(m)) {
        throw new RapidError(E.ROUTER_INVALID_METHOD, `${JSON.stringify(m)} is not a method token`);
      }
      if (methods.indexOf(m) !== i) {
        throw new RapidError(E.ROUTER_INVALID_METHOD, `${m} listed twice for ${path}`);
      }
    }
    const tokens = parsePattern(path);
    const names = paramNames(tokens);
    const last = tokens[tokens.length - 1];
    const slot: Slot = last !== undefined && last.type === 'wildcard' ? 'wildcard' : 'routes';
    const variants = [tokens];
    if (this.#slash === 'ignore') {
      const toggled = toggleSlash(tokens);
      if (toggled !== null) variants.push(toggled);
    }
    const routes = methods.map((m) => new Route<T>(m, path, store, [...names], false));
    this.#register(variants, slot, routes);
  }

  mount(prefix: string, store: T): void {
    const tokens = parsePattern(prefix, false);
    // "/api" and "/api/" are the same mount; "/" mounts at the root and sees every path.
    const last = tokens[tokens.length - 1];
    if (last !== undefined && last.type === 'static' && last.text.endsWith('/')) {
      const text = last.text.slice(0, -1);
      tokens.pop();
      if (text !== '') tokens.push({ type: 'static', text });
    }
    const route = new Route<T>(ANY_METHOD, prefix, store, paramNames(tokens), true);
    this.#register([tokens], 'stem', [route]);
  }

  /** Check every (variant, method) first so a conflict leaves the router unchanged. */
  #register(variants: Token[][], slot: Slot, routes: Route<T>[]): void {
    const nodes = variants.map((tokens) => this.#insert(tokens));
    for (const node of nodes) {
      const table = node[slot];
      if (table === null) continue;
      for (const route of routes) {
        const existing = table.conflict(route.method);
        if (existing !== null) {
          throw new RapidError(
            E.ROUTER_CONFLICT,
            `${route.method} ${route.path} conflicts with ${existing.method} ${existing.path}`,
          );
        }
      }
    }
    for (let i = 0; i < nodes.length; i++) {
      const table = (nodes[i]![slot] ??= new MethodTable<T>());
      for (const route of routes) table.add(route.method, route);
      const tokens = variants[i]!;
      if (slot === 'routes' && !this.#fold && tokens.every((t) => t.type === 'static')) {
        this.#static.set(tokens.map((t) => (t as { text: string }).text).join(''), table);
      }
    }
    for (const route of routes) {
      this.#routes.push(route.info);
      if (this.#stack.length < route.paramNames.length * 2) {
        this.#stack = new Int32Array(route.paramNames.length * 2);
      }
    }
  }

  /** Create (or find) the nodes for `tokens`; returns the last one. Adding nodes without routes
   * changes no lookup, so this is safe to run before the conflict check. */
  #insert(tokens: readonly Token[]): Node<T> {
    let node = this.#root;
    for (const t of tokens) {
      if (t.type === 'static')
        node = this.#insertStatic(node, this.#fold ? foldAscii(t.text) : t.text);
      else if (t.type === 'param') node = insertParam(node, t.regex);
      // A wildcard lives on the node its preceding static text ends at.
    }
    return node;
  }

  #insertStatic(node: Node<T>, text: string): Node<T> {
    while (text.length > 0) {
      const i = node.labels.indexOf(text.charCodeAt(0));
      if (i === -1) {
        const child = new Node<T>(text, false, null);
        node.addChild(child);
        return child;
      }
      const child = node.children[i]!;
      const p = child.prefix;
      let l = 1;
      while (l < p.length && l < text.length && p.charCodeAt(l) === text.charCodeAt(l)) l++;
      if (l < p.length) child.split(l);
      text = text.slice(l);
      node = child;
    }
    return node;
  }

  routes(): readonly RouteInfo<T>[] {
    return this.#routes.slice();
  }

  // ---------------------------------------------------------------------------------------------
  // Lookup

  find(method: string, path: string): RouteMatch<T> {
    const m = matchForm(path);
    if (m === null) return BAD_URL;
    // Asterisk-form ("*"), absolute-form or an empty path never names a route.
    if (m.charCodeAt(0) !== SLASH) return NOT_FOUND;
    const table = this.#static.get(m);
    if (table !== undefined) {
      const r = table.map.get(method) ?? table.any;
      if (r !== null) return r.found!;
    }
    this.#path = m;
    this.#method = method;
    this.#collecting = false;
    this.#sp = 0;
    const route = this.#walk(this.#root, 0);
    if (route !== null) return this.#found(route, path, m);
    return this.#miss(method, path, m);
  }

  allowedMethods(path: string): string[] {
    const m = matchForm(path);
    if (m === null || m.charCodeAt(0) !== SLASH) return [];
    const hits = this.#collect(m);
    if (hits.length === 0) return [];
    const set = new Set<string>(['OPTIONS']);
    for (const t of hits) for (const x of t.methods) set.add(x);
    return [...set].sort();
  }

  #found(route: Route<T>, raw: string, m: string): Found<T> {
    if (route.found !== null) return route.found;
    const names = route.paramNames;
    let params = EMPTY_PARAMS;
    if (names.length !== 0) {
      params = new NullParams();
      const st = this.#stack;
      for (let i = 0; i < names.length; i++) {
        const v = m.slice(st[2 * i], st[2 * i + 1]);
        params[names[i]!] = finishParam(v);
      }
    }
    const rest = route.mount ? restOf(raw, m, this.#restPos) : null;
    return new Result<T>(
      'found',
      route.store,
      params,
      route.info,
      rest,
      undefined,
      undefined,
    ) as Found<T>;
  }

  #miss(method: string, raw: string, m: string): RouteMatch<T> {
    const hits = this.#collect(m);
    if (hits.length !== 0) {
      let allow = hits[0]!.allow;
      if (hits.length > 1) {
        const all: string[] = [];
        for (const t of hits) all.push(...t.methods);
        allow = allowValue(all);
      }
      const kind = method === 'OPTIONS' ? 'options' : 'method-not-allowed';
      return new Result<T>(kind, undefined, undefined, undefined, null, allow, undefined) as
        OptionsAllowed | MethodNotAllowed;
    }
    if (this.#slash === 'redirect') {
      const toggled = toggle(m);
      const location = toggle(raw);
      // Never "//host" or "/\host": a browser reads those as another origin (open redirect).
      const c = location === null ? SLASH : location.charCodeAt(1);
      if (toggled !== null && c !== SLASH && c !== 0x5c && this.#collect(toggled).length !== 0) {
        return new Result<T>(
          'redirect',
          undefined,
          undefined,
          undefined,
          null,
          undefined,
          location!,
        ) as Redirect;
      }
    }
    return NOT_FOUND;
  }

  /** Every position `m` reaches, whatever the method (the slow path of 404/405/OPTIONS). */
  #collect(m: string): MethodTable<T>[] {
    this.#path = m;
    this.#collecting = true;
    this.#hits = [];
    this.#sp = 0;
    this.#walk(this.#root, 0);
    this.#collecting = false;
    return this.#hits;
  }

  #accept(table: MethodTable<T>): Route<T> | null {
    if (this.#collecting) {
      this.#hits.push(table);
      return null;
    }
    return table.map.get(this.#method) ?? table.any;
  }

  /** `node`'s prefix has matched and ends at `pos`. */
  #walk(node: Node<T>, pos: number): Route<T> | null {
    const path = this.#path;
    const len = path.length;
    let r: Route<T> | null;
    if (pos === len) {
      if (node.routes !== null && (r = this.#accept(node.routes)) !== null) return r;
    } else {
      let c = path.charCodeAt(pos);
      if (this.#fold && c >= 0x41 && c <= 0x5a) c |= 0x20;
      const labels = node.labels;
      for (let i = 0; i < labels.length; i++) {
        if (labels[i] === c) {
          const child = node.children[i]!;
          if (this.#prefixAt(child.prefix, pos)) {
            r = this.#walk(child, pos + child.prefix.length);
            if (r !== null) return r;
          }
          break;
        }
      }
      // A parameter is never empty, so it cannot start at a "/".
      if (node.params.length !== 0 && c !== SLASH) {
        let segEnd = path.indexOf('/', pos);
        if (segEnd === -1) segEnd = len;
        const ps = node.params;
        for (let i = 0; i < ps.length; i++) {
          r = this.#walkParam(ps[i]!, pos, segEnd);
          if (r !== null) return r;
        }
      }
    }
    if (node.wildcard !== null && (r = this.#accept(node.wildcard)) !== null) {
      this.#stack[this.#sp++] = pos;
      this.#stack[this.#sp++] = len;
      return r;
    }
    if (
      node.stem !== null &&
      (pos === len || path.charCodeAt(pos) === SLASH) &&
      (r = this.#accept(node.stem)) !== null
    ) {
      this.#restPos = pos;
      return r;
    }
    return null;
  }

  /**
   * Parameter `p` starts at `pos`. Static text that continues the segment (":name.json",
   * ":from-:to") is tried first, the parameter ending at that text's first occurrence (shortest
   * value, no retry at later occurrences: linear time whatever the input); then the parameter
   * takes the whole segment.
   */
  #walkParam(p: Node<T>, pos: number, segEnd: number): Route<T> | null {
    const sp = this.#sp;
    const stack = this.#stack;
    let r: Route<T> | null;
    const inSeg = p.inSegment;
    for (let i = 0; i < inSeg.length; i++) {
      const child = inSeg[i]!;
      const at = this.#indexIn(child.prefix, pos + 1, segEnd);
      if (at !== -1 && at - pos <= this.#maxParam && this.#test(p, pos, at)) {
        stack[sp] = pos;
        stack[sp + 1] = at;
        this.#sp = sp + 2;
        r = this.#walk(child, at + child.prefix.length);
        if (r !== null) return r;
        this.#sp = sp;
      }
    }
    if (segEnd - pos <= this.#maxParam && this.#test(p, pos, segEnd)) {
      stack[sp] = pos;
      stack[sp + 1] = segEnd;
      this.#sp = sp + 2;
      r = this.#walk(p, segEnd);
      if (r !== null) return r;
      this.#sp = sp;
    }
    return null;
  }

  #test(p: Node<T>, start: number, end: number): boolean {
    if (p.regex === null) return true;
    const v = this.#path.slice(start, end);
    return p.regex.test(finishParam(v));
  }

  /** Does `prefix` (whose first char already matched) occur at `pos`? */
  #prefixAt(prefix: string, pos: number): boolean {
    const n = prefix.length;
    if (n === 1) return true;
    const path = this.#path;
    if (!this.#fold) return path.startsWith(prefix, pos);
    if (pos + n > path.length) return false;
    for (let i = 1; i < n; i++) {
      let c = path.charCodeAt(pos + i);
      if (c >= 0x41 && c <= 0x5a) c |= 0x20;
      if (c !== prefix.charCodeAt(i)) return false;
    }
    return true;
  }

  /** First offset in [from, segEnd) where `prefix` occurs, or -1. */
  #indexIn(prefix: string, from: number, segEnd: number): number {
    if (!this.#fold) {
      const at = this.#path.indexOf(prefix, from);
      return at !== -1 && at < segEnd ? at : -1;
    }
    const first = prefix.charCodeAt(0);
    const path = this.#path;
    for (let i = from; i < segEnd; i++) {
      let c = path.charCodeAt(i);
      if (c >= 0x41 && c <= 0x5a) c |= 0x20;
      if (c === first && this.#prefixAt(prefix, i)) return i;
    }
    return -1;
  }
}

/** Make a radix router (the `RouterFactory` the contract suite and benchmarks use). */
export function createRouter<T>(options?: RouterOptions): Router<T> {
  return new RadixRouter<T>(options);
}

function insertParam<T>(node: Node<T>, regex: string | null): Node<T> {
  for (const p of node.params) if (p.regexSource === regex) return p;
  const p = new Node<T>('', true, regex);
  const plain = node.params.findIndex((x) => x.regexSource === null);
  if (regex === null || plain === -1) node.params.push(p);
  else node.params.splice(plain, 0, p);
  return p;
}

function paramNames(tokens: readonly Token[]): string[] {
  const names: string[] = [];
  for (const t of tokens) {
    if (t.type === 'param') names.push(t.name);
    else if (t.type === 'wildcard') names.push('*');
  }
  return names;
}

/** The pattern with its trailing slash toggled, or null (root, wildcard). */
function toggleSlash(tokens: readonly Token[]): Token[] | null {
  const last = tokens[tokens.length - 1];
  if (last === undefined || last.type === 'wildcard') return null;
  const out = tokens.slice();
  if (last.type === 'param') {
    out.push({ type: 'static', text: '/' });
  } else if (!last.text.endsWith('/')) {
    out[out.length - 1] = { type: 'static', text: last.text + '/' };
  } else {
    if (tokens.length === 1 && last.text === '/') return null;
    out.pop();
    if (last.text.length > 1) out.push({ type: 'static', text: last.text.slice(0, -1) });
  }
  return out;
}

function toggle(path: string): string | null {
  if (path.length <= 1) return null;
  return path.charCodeAt(path.length - 1) === SLASH ? path.slice(0, -1) : path + '/';
}

/** The raw rest of the path at match-form offset `pos` (a "/" or the end). Raw and match form
 * have the same "/"s (a decoded slash stays "%2F"), so count them to map the offset. */
function restOf(raw: string, m: string, pos: number): string {
  if (pos >= m.length) return '/';
  if (raw === m) return raw.slice(pos);
  let n = 0;
  for (let i = 0; i <= pos; i++) if (m.charCodeAt(i) === SLASH) n++;
  for (let i = 0; i < raw.length; i++) {
    if (raw.charCodeAt(i) === SLASH && --n === 0) return raw.slice(i);
  }
  return '/';
}
