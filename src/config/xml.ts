/**
 * The Apache-like XML form. saxes parses (well-formedness, entities, line and column); the
 * elements are then read into the common tree with the schema as the guide:
 *
 * - the root element is <Rapid>;
 * - a scalar setting is an attribute (`port="8080"`) or a child element with text
 *   (`<Root>./site</Root>`); a list of scalars may be an attribute with commas
 *   (`aliases="a.example, b.example"`);
 * - a group of settings is a child element named after it in PascalCase (`keepAlive` is
 *   <KeepAlive>), or the name its `xml` hint gives;
 * - a list is its items as repeated child elements (<Site>, <Listen>, <Alias>, <Handler>...)
 *   directly in the parent (`flat`) or inside a wrapper (<DefaultDocuments><Add>...);
 * - a table is items with a key attribute and a value attribute or text
 *   (<MimeTypes><Add extension="md" type="text/markdown"/></MimeTypes>).
 *
 * Element and attribute names match exactly, or else case-insensitively. An element that fits no
 * setting is an error with a "did you mean" among the elements allowed there.
 */
import { Kind, type TSchema } from '@sinclair/typebox';
import { SaxesParser } from 'saxes';
import { E, suggest, type ConfigIssue } from './issues.js';
import { keywords, type XmlHint } from './schema.js';
import { LineIndex, type Node, type ObjectEntry, type Pos } from './tree.js';
import { SERVER_WIDE } from './validate.js';

interface XmlAttr {
  name: string;
  value: string;
  pos: Pos;
}

interface XmlElement {
  name: string;
  pos: Pos;
  attrs: XmlAttr[];
  children: XmlElement[];
  text: string;
}

export class XmlSyntaxError extends Error {
  constructor(
    message: string,
    readonly pos: Pos | null,
  ) {
    super(message);
  }
}

/** Parse XML text into elements with positions (throws XmlSyntaxError). */
export function parseXml(text: string): XmlElement {
  const lines = new LineIndex(text);
  const parser = new SaxesParser({ position: true });
  const stack: XmlElement[] = [];
  let root: XmlElement | null = null;
  let pending: XmlElement | null = null;
  parser.on('opentagstart', (tag) => {
    const at = text.lastIndexOf(`<${tag.name}`, parser.position);
    pending = {
      name: tag.name,
      pos: lines.pos(Math.max(0, at)),
      attrs: [],
      children: [],
      text: '',
    };
  });
  parser.on('attribute', (attr) => {
    // The parser stands just past the closing quote: walk back over the value, "=" and the name.
    const end = parser.position - 1;
    const quote = text[end];
    let i = quote === '"' || quote === "'" ? text.lastIndexOf(quote, end - 1) - 1 : end;
    while (i > 0 && /\s/.test(text[i]!)) i--;
    if (text[i] === '=') i--;
    while (i > 0 && /\s/.test(text[i]!)) i--;
    const start = i - attr.name.length + 1;
    pending!.attrs.push({ name: attr.name, value: attr.value, pos: lines.pos(Math.max(0, start)) });
  });
  parser.on('opentag', () => {
    const el = pending!;
    pending = null;
    if (stack.length > 0) stack[stack.length - 1]!.children.push(el);
    else root = el;
    stack.push(el);
  });
  parser.on('text', (t) => {
    if (stack.length > 0) stack[stack.length - 1]!.text += t;
  });
  parser.on('cdata', (t) => {
    if (stack.length > 0) stack[stack.length - 1]!.text += t;
  });
  parser.on('closetag', () => {
    stack.pop();
  });
  try {
    parser.write(text).close();
  } catch (err) {
    const m = /^(\d+):(\d+): (.*)$/s.exec((err as Error).message);
    if (m !== null) {
      throw new XmlSyntaxError(m[3]!.replace(/\.$/, ''), {
        line: Number(m[1]),
        column: Number(m[2]),
      });
    }
    throw new XmlSyntaxError((err as Error).message, null);
  }
  if (root === null) throw new XmlSyntaxError('no root element', null);
  return root;
}

type S = TSchema & Record<string | symbol, unknown>;

function kindOf(schema: TSchema): string {
  return (schema as S)[Kind] as string;
}

function pascal(key: string): string {
  return key.charAt(0).toUpperCase() + key.slice(1);
}

function same(a: string, b: string): boolean {
  return a === b || a.toLowerCase() === b.toLowerCase();
}

/** The object schema an element maps to (a discriminated union picks by its attribute). */
function objectSchema(schema: TSchema, el: XmlElement): TSchema | null {
  const kind = kindOf(schema);
  if (kind === 'Object') return schema;
  if (kind === 'Union') {
    const variants = (schema as S).anyOf as TSchema[];
    const key = keywords(schema).discriminator;
    if (key !== undefined) {
      const attr = el.attrs.find((a) => same(a.name, key));
      const v = variants.find(
        (x) => ((x as S).properties as Record<string, S>)[key]!.const === attr?.value,
      );
      // Without a valid discriminator, read the element loosely; the validator reports it.
      return v ?? null;
    }
    return variants.find((v) => kindOf(v) === 'Object') ?? null;
  }
  return null;
}

function listSchema(schema: TSchema): TSchema | null {
  if (kindOf(schema) === 'Array') return schema;
  if (kindOf(schema) === 'Union') {
    return ((schema as S).anyOf as TSchema[]).find((v) => kindOf(v) === 'Array') ?? null;
  }
  return null;
}

function isScalarSchema(schema: TSchema): boolean {
  if (keywords(schema).kind !== undefined) return true;
  const kind = kindOf(schema);
  if (kind === 'Union') return ((schema as S).anyOf as TSchema[]).some(isScalarSchema);
  return (
    kind === 'String' ||
    kind === 'Integer' ||
    kind === 'Number' ||
    kind === 'Boolean' ||
    kind === 'Literal'
  );
}

function textNode(value: string, pos: Pos): Node {
  return { kind: 'scalar', pos, value, text: true };
}

interface Slot {
  key: string;
  schema: TSchema;
  hint: XmlHint;
}

class Reader {
  constructor(
    private readonly file: string,
    private readonly issues: ConfigIssue[],
  ) {}

  private fail(
    pos: Pos | null,
    path: string,
    message: string,
    spec = E.CONFIG_UNKNOWN_SETTING,
  ): void {
    this.issues.push({ spec, file: this.file, pos, path, message });
  }

  /** An element read as a group of settings (schema: object, union of objects, or record). */
  element(el: XmlElement, schema: TSchema, path: string): Node {
    const obj = objectSchema(schema, el);
    const entries: ObjectEntry[] = [];
    if (obj === null) {
      // Unknown variant: attributes as text, so the validator can name what is wrong.
      for (const a of el.attrs)
        entries.push({ key: a.name, keyPos: a.pos, value: textNode(a.value, a.pos) });
      return { kind: 'object', pos: el.pos, entries };
    }
    const props = (obj as S).properties as Record<string, TSchema>;
    const keys = Object.keys(props);
    const slots: Slot[] = keys.map((key) => ({
      key,
      schema: props[key]!,
      hint: keywords(props[key]!).xml ?? {},
    }));
    const propFor = (name: string): string =>
      keys.find((key) => key === name) ?? keys.find((key) => same(key, name)) ?? name;
    for (const a of el.attrs) {
      entries.push({ key: propFor(a.name), keyPos: a.pos, value: textNode(a.value, a.pos) });
    }
    const collected = new Map<string, { entry: ObjectEntry; items: Node[] | ObjectEntry[] }>();
    for (const child of el.children) {
      const slot = this.slotFor(slots, child.name);
      if (slot === undefined) {
        const names = slots.flatMap((s) => this.elementNames(s));
        const near = suggest(child.name, names);
        const wide = [...SERVER_WIDE].find((k) => path !== '' && same(k, child.name));
        this.fail(
          child.pos,
          path === '' ? child.name : `${path}.${child.name}`,
          wide !== undefined
            ? `<${child.name}> applies to the whole server (connections are not per site): put it in <Rapid>`
            : near !== undefined
              ? `unknown element <${child.name}>; did you mean <${near}>?`
              : `unknown element <${child.name}> in <${el.name}>${names.length > 0 ? ` (allowed: ${names.map((n) => `<${n}>`).join(', ')})` : ''}`,
        );
        continue;
      }
      const p = path === '' ? slot.key : `${path}.${slot.key}`;
      if (
        slot.hint.flat === true &&
        slot.hint.item !== undefined &&
        same(child.name, slot.hint.item)
      ) {
        let c = collected.get(slot.key);
        const isTable = kindOf(slot.schema) === 'Record';
        if (c === undefined) {
          const items: Node[] | ObjectEntry[] = [];
          const value: Node = isTable
            ? { kind: 'object', pos: child.pos, entries: items as ObjectEntry[] }
            : { kind: 'array', pos: child.pos, items: items as Node[] };
          c = { entry: { key: slot.key, keyPos: child.pos, value }, items };
          collected.set(slot.key, c);
          entries.push(c.entry);
        }
        if (isTable) (c.items as ObjectEntry[]).push(this.tableItem(child, slot, p));
        else (c.items as Node[]).push(this.listItem(child, slot, `${p}[${c.items.length}]`));
        continue;
      }
      entries.push({ key: slot.key, keyPos: child.pos, value: this.value(child, slot, p) });
    }
    const text = el.text.trim();
    if (text.length > 0) {
      this.fail(
        el.pos,
        path,
        `unexpected text ${JSON.stringify(text.slice(0, 30))} in <${el.name}>`,
        E.CONFIG_INVALID_VALUE,
      );
    }
    return { kind: 'object', pos: el.pos, entries };
  }

  private elementNames(slot: Slot): string[] {
    const h = slot.hint;
    if (h.flat === true && h.item !== undefined) return [h.item];
    return [h.name ?? pascal(slot.key)];
  }

  private slotFor(slots: Slot[], name: string): Slot | undefined {
    const match = (exact: boolean) =>
      slots.find((s) => this.elementNames(s).some((n) => (exact ? n === name : same(n, name))));
    return match(true) ?? match(false);
  }

  /** A child element that is a setting on its own (not a flat item). */
  private value(el: XmlElement, slot: Slot, path: string): Node {
    const schema = slot.schema;
    const kind = kindOf(schema);
    if (kind === 'Record') {
      const entries = this.wrapped(el, slot, path, (child) => this.tableItem(child, slot, path));
      return { kind: 'object', pos: el.pos, entries };
    }
    const arr = listSchema(schema);
    if (arr !== null && (el.children.length > 0 || el.text.trim().length === 0)) {
      let n = 0;
      const items = this.wrapped(el, slot, path, (child) =>
        this.listItem(child, slot, `${path}[${n++}]`, arr),
      );
      return { kind: 'array', pos: el.pos, items };
    }
    if (objectSchema(schema, el) !== null && !isScalarSchema(schema))
      return this.element(el, schema, path);
    this.noAttrs(el, path);
    for (const child of el.children)
      this.fail(child.pos, path, `unexpected element <${child.name}> in <${el.name}>`);
    return textNode(el.text.trim(), el.pos);
  }

  /** The items of a wrapper element (<DefaultDocuments><Add>...), each read by `read`. */
  private wrapped<T>(
    el: XmlElement,
    slot: Slot,
    path: string,
    read: (child: XmlElement) => T,
  ): T[] {
    const out: T[] = [];
    for (const child of el.children) {
      if (slot.hint.item !== undefined && !same(child.name, slot.hint.item)) {
        this.fail(
          child.pos,
          path,
          `unknown element <${child.name}> in <${el.name}> (expected <${slot.hint.item}>)`,
        );
        continue;
      }
      out.push(read(child));
    }
    this.noAttrs(el, path);
    return out;
  }

  private noAttrs(el: XmlElement, path: string): void {
    for (const a of el.attrs)
      this.fail(a.pos, path, `unexpected attribute ${a.name} on <${el.name}>`);
  }

  private listItem(el: XmlElement, slot: Slot, path: string, arr = listSchema(slot.schema)): Node {
    const item = arr === null ? slot.schema : ((arr as S).items as TSchema);
    if (isScalarSchema(item)) {
      const attr = slot.hint.attr;
      if (attr !== undefined) {
        const a = el.attrs.find((x) => same(x.name, attr));
        for (const x of el.attrs)
          if (x !== a)
            this.fail(
              x.pos,
              path,
              `unexpected attribute ${x.name} on <${el.name}> (expected ${attr}="...")`,
            );
        if (a !== undefined) return textNode(a.value, a.pos);
      } else {
        this.noAttrs(el, path);
      }
      return textNode(el.text.trim(), el.pos);
    }
    return this.element(el, item, path);
  }

  private tableItem(el: XmlElement, slot: Slot, path: string): ObjectEntry {
    const keyAttr = slot.hint.key ?? 'name';
    const k = el.attrs.find((a) => same(a.name, keyAttr));
    if (k === undefined) {
      this.fail(
        el.pos,
        path,
        `<${el.name}> needs a ${keyAttr}="..." attribute`,
        E.CONFIG_MISSING_SETTING,
      );
      return { key: '', keyPos: el.pos, value: textNode('', el.pos) };
    }
    const valueSchema = Object.values(
      (slot.schema as S).patternProperties as Record<string, TSchema>,
    )[0]!;
    const rest: XmlElement = { ...el, attrs: el.attrs.filter((a) => a !== k) };
    let value: Node;
    if (isScalarSchema(valueSchema)) {
      const valueAttr = slot.hint.value;
      const v =
        valueAttr === undefined ? undefined : rest.attrs.find((a) => same(a.name, valueAttr));
      for (const x of rest.attrs)
        if (x !== v)
          this.fail(x.pos, `${path}.${k.value}`, `unexpected attribute ${x.name} on <${el.name}>`);
      value = v !== undefined ? textNode(v.value, v.pos) : textNode(el.text.trim(), el.pos);
    } else {
      value = this.element(rest, valueSchema, `${path}.${k.value}`);
    }
    return { key: k.value, keyPos: k.pos, value };
  }
}

/** Read an XML config into the common tree; syntax problems throw XmlSyntaxError. */
export function xmlTree(text: string, file: string, schema: TSchema, issues: ConfigIssue[]): Node {
  const root = parseXml(text);
  const name = keywords(schema).xml?.name ?? 'Rapid';
  if (root.name !== name) {
    throw new XmlSyntaxError(`the root element must be <${name}>, not <${root.name}>`, root.pos);
  }
  return new Reader(file, issues).element(root, schema, '');
}
