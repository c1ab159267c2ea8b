/**
 * The tree every loader produces: objects, lists and scalars with the position each came from.
 * The validator (validate.ts) walks it against the schema, so errors can name file:line:column
 * whatever the file form.
 */

/** 1-based line and column (UTF-16 units). */
export interface Pos {
  readonly line: number;
  readonly column: number;
}

export interface ObjectEntry {
  readonly key: string;
  /** Where the key was written (an XML attribute or element, a YAML/JSON key). */
  readonly keyPos: Pos | null;
  readonly value: Node;
}

export interface ObjectNode {
  readonly kind: 'object';
  readonly pos: Pos | null;
  readonly entries: ObjectEntry[];
}

export interface ArrayNode {
  readonly kind: 'array';
  readonly pos: Pos | null;
  readonly items: Node[];
}

export interface ScalarNode {
  readonly kind: 'scalar';
  readonly pos: Pos | null;
  readonly value: string | number | boolean | null;
  /** Text that still needs its type from the schema (XML attributes and element text). */
  readonly text: boolean;
}

/** Something a module config holds that no file could: a function, a symbol, a class instance. */
export interface OpaqueNode {
  readonly kind: 'opaque';
  readonly pos: Pos | null;
  readonly what: string;
}

export type Node = ObjectNode | ArrayNode | ScalarNode | OpaqueNode;

/** Offsets to line/column, from the start of each line. */
export class LineIndex {
  private readonly starts: number[] = [0];

  constructor(text: string) {
    for (let i = 0; i < text.length; i++) {
      if (text.charCodeAt(i) === 0x0a) this.starts.push(i + 1);
    }
  }

  pos(offset: number): Pos {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - this.starts[lo]! + 1 };
  }
}

/** A tree from a plain JavaScript value (a defineConfig() module): no positions. */
export function treeFromValue(value: unknown, seen = new Set<object>()): Node {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') {
    return { kind: 'scalar', pos: null, value, text: false };
  }
  if (typeof value === 'number') {
    return Number.isFinite(value)
      ? { kind: 'scalar', pos: null, value, text: false }
      : { kind: 'opaque', pos: null, what: String(value) };
  }
  if (typeof value === 'object') {
    if (seen.has(value)) return { kind: 'opaque', pos: null, what: 'a circular reference' };
    seen.add(value);
    try {
      if (Array.isArray(value)) {
        return { kind: 'array', pos: null, items: value.map((v) => treeFromValue(v, seen)) };
      }
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto !== Object.prototype && proto !== null) {
        const name = (value as { constructor?: { name?: string } }).constructor?.name;
        return { kind: 'opaque', pos: null, what: `an instance of ${name ?? 'a class'}` };
      }
      return {
        kind: 'object',
        pos: null,
        entries: Object.entries(value)
          .filter(([, v]) => v !== undefined)
          .map(([key, v]) => ({ key, keyPos: null, value: treeFromValue(v, seen) })),
      };
    } finally {
      seen.delete(value);
    }
  }
  return { kind: 'opaque', pos: null, what: `a ${typeof value}` };
}
