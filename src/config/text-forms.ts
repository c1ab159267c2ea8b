/**
 * The JSON and YAML forms, read into the common tree with positions.
 *
 * JSON is read with jsonc-parser (VS Code's): comments and trailing commas are allowed, every
 * node has its offset. YAML with the `yaml` package and its LineCounter; anchors and aliases
 * work, duplicate keys are errors.
 */
import {
  parseTree,
  printParseErrorCode,
  type Node as JsonNode,
  type ParseError,
} from 'jsonc-parser';
import {
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type Document,
} from 'yaml';
import { E, type ConfigIssue } from './issues.js';
import { LineIndex, type Node, type ObjectEntry, type Pos } from './tree.js';

export class SyntaxProblem extends Error {
  constructor(
    message: string,
    readonly pos: Pos | null,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------------
// JSON

function fromJson(
  node: JsonNode,
  lines: LineIndex,
  file: string,
  issues: ConfigIssue[],
  path: string,
): Node {
  const pos = lines.pos(node.offset);
  switch (node.type) {
    case 'object': {
      const entries: ObjectEntry[] = [];
      const seen = new Set<string>();
      for (const prop of node.children ?? []) {
        const [k, v] = prop.children ?? [];
        if (k === undefined) continue;
        const key = String(k.value);
        const keyPos = lines.pos(k.offset);
        if (seen.has(key)) {
          issues.push({
            spec: E.CONFIG_SYNTAX,
            file,
            pos: keyPos,
            path: path === '' ? key : `${path}.${key}`,
            message: `duplicate key "${key}"`,
          });
          continue;
        }
        seen.add(key);
        const value: Node =
          v === undefined
            ? { kind: 'scalar', pos: keyPos, value: null, text: false }
            : fromJson(v, lines, file, issues, key);
        entries.push({ key, keyPos, value });
      }
      return { kind: 'object', pos, entries };
    }
    case 'array':
      return {
        kind: 'array',
        pos,
        items: (node.children ?? []).map((c) => fromJson(c, lines, file, issues, path)),
      };
    default:
      return {
        kind: 'scalar',
        pos,
        value: node.value as string | number | boolean | null,
        text: false,
      };
  }
}

export function jsonTree(text: string, file: string, issues: ConfigIssue[]): Node {
  const lines = new LineIndex(text);
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, {
    allowTrailingComma: true,
    disallowComments: false,
    allowEmptyContent: false,
  });
  if (errors.length > 0) {
    const e = errors[0]!;
    const what = printParseErrorCode(e.error)
      .replace(/([a-z])([A-Z])/g, '$1 $2')
      .toLowerCase();
    throw new SyntaxProblem(`invalid JSON: ${what}`, lines.pos(e.offset));
  }
  if (root === undefined) throw new SyntaxProblem('the file is empty', { line: 1, column: 1 });
  return fromJson(root, lines, file, issues, '');
}

// ---------------------------------------------------------------------------------------------
// YAML

function fromYaml(node: unknown, doc: Document, lc: LineCounter, depth = 0): Node {
  const at = (range: readonly number[] | null | undefined): Pos | null => {
    if (range == null) return null;
    const p = lc.linePos(range[0]!);
    return { line: p.line, column: p.col };
  };
  if (depth > 64) throw new SyntaxProblem('aliases nested too deeply', null);
  if (isAlias(node)) {
    const target = node.resolve(doc);
    if (target === undefined)
      throw new SyntaxProblem(`unknown alias *${node.source}`, at(node.range));
    const n = fromYaml(target, doc, lc, depth + 1);
    return { ...n, pos: at(node.range) } as Node;
  }
  if (isMap(node)) {
    const entries: ObjectEntry[] = [];
    for (const item of node.items) {
      if (!isPair(item)) continue;
      const k = item.key;
      const key = isScalar(k) ? String(k.value) : String(k);
      const keyPos = isScalar(k) ? at(k.range) : null;
      const value: Node =
        item.value == null
          ? { kind: 'scalar', pos: keyPos, value: null, text: false }
          : fromYaml(item.value, doc, lc, depth);
      entries.push({ key, keyPos, value });
    }
    return { kind: 'object', pos: at(node.range), entries };
  }
  if (isSeq(node)) {
    return {
      kind: 'array',
      pos: at(node.range),
      items: node.items.map((i) => fromYaml(i, doc, lc, depth)),
    };
  }
  if (isScalar(node)) {
    const v = node.value;
    if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') {
      return { kind: 'scalar', pos: at(node.range), value: v, text: false };
    }
    return { kind: 'opaque', pos: at(node.range), what: `a YAML ${typeof v}` };
  }
  return { kind: 'opaque', pos: null, what: 'an unsupported YAML node' };
}

export function yamlTree(text: string): Node {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, {
    lineCounter,
    prettyErrors: false,
    uniqueKeys: true,
    strict: true,
  });
  const err = doc.errors[0];
  if (err !== undefined) {
    const p = lineCounter.linePos(err.pos[0]);
    throw new SyntaxProblem(
      `invalid YAML: ${err.message.split('\n')[0]!.replace(/ at line \d+, column \d+.*$/, '')}`,
      {
        line: p.line,
        column: p.col,
      },
    );
  }
  if (doc.contents === null) throw new SyntaxProblem('the file is empty', { line: 1, column: 1 });
  return fromYaml(doc.contents, doc, lineCounter);
}
