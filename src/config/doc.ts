/**
 * The settings reference of docs/config.md, generated from the schema: one section per setting
 * with its type, default, XML spelling and description. scripts/gen-config-doc.js writes it
 * between the SETTINGS markers; test/unit/config/doc.test.ts fails when the two differ.
 */
import { Kind, OptionalKind, type TSchema } from '@sinclair/typebox';
import { ConfigSchema, keywords } from './schema.js';
import { describe } from './validate.js';

type S = TSchema & Record<string | symbol, unknown>;

function kindOf(s: TSchema): string {
  return (s as S)[Kind] as string;
}

function pascal(key: string): string {
  return key.charAt(0).toUpperCase() + key.slice(1);
}

function isGroup(s: TSchema): boolean {
  return (
    kindOf(s) === 'Object' || (kindOf(s) === 'Union' && keywords(s).discriminator !== undefined)
  );
}

function itemOf(s: TSchema): TSchema | null {
  if (kindOf(s) === 'Array') return (s as S).items as TSchema;
  return null;
}

function defaultText(s: TSchema): string {
  const d = (s as S).default;
  if (d === undefined) return (s as S)[OptionalKind] === 'Optional' ? 'none' : 'required';
  if (typeof d === 'object' && d !== null && !Array.isArray(d) && Object.keys(d).length === 0) {
    return kindOf(s) === 'Record' ? '`{}` (none)' : 'the defaults of its settings';
  }
  if (Array.isArray(d) && d.length === 1 && typeof d[0] === 'object')
    return 'one, with the defaults of its settings';
  return `\`${JSON.stringify(d)}\``;
}

function xmlText(key: string, s: TSchema): string {
  const h = keywords(s).xml ?? {};
  const kind = kindOf(s);
  if (kind === 'Record') {
    const item = `<${h.item}${h.key !== undefined ? ` ${h.key}="…"` : ''}${h.value !== undefined ? ` ${h.value}="…"/>` : '>…</' + h.item + '>'}`;
    return h.flat === true
      ? `\`${item}\` elements`
      : `\`<${h.name ?? pascal(key)}>${item}…</${h.name ?? pascal(key)}>\``;
  }
  const item =
    itemOf(s) ??
    (kind === 'Union'
      ? itemOf(((s as S).anyOf as TSchema[]).find((v) => kindOf(v) === 'Array') ?? s)
      : null);
  if (item !== null && h.item !== undefined) {
    const el = isGroup(item)
      ? `<${h.item} …/>`
      : h.attr !== undefined
        ? `<${h.item} ${h.attr}="…"/>`
        : `<${h.item}>…</${h.item}>`;
    if (h.flat === true) {
      const attr = isGroup(item) || kind === 'Union' ? '' : `, or attribute \`${key}="a, b"\``;
      return `repeated \`${el}\` elements${kind === 'Union' ? `, or attribute \`${key}="…"\`` : attr}`;
    }
    return `\`<${h.name ?? pascal(key)}>${el}…</${h.name ?? pascal(key)}>\``;
  }
  if (item !== null) return `attribute \`${key}="a, b"\``;
  if (isGroup(s)) return `element \`<${h.name ?? pascal(key)}>\``;
  return `attribute \`${key}="…"\``;
}

function typeText(s: TSchema): string {
  const item = itemOf(s);
  if (item !== null && isGroup(item)) return 'a list of groups of settings (below)';
  return describe(s);
}

/** Render one group's settings; nested groups follow as their own sections. */
function group(path: string, schema: TSchema, out: string[], title?: string): void {
  const props = (schema as S).properties as Record<string, TSchema>;
  const nested: [string, TSchema, string | undefined][] = [];
  out.push(`### ${title ?? `\`${path}\``}`, '');
  out.push(String((schema as S).description ?? ''), '');
  const feature = keywords(schema).feature;
  if (feature !== undefined) out.push(`Needs the \`${feature}\` feature.`, '');
  for (const [key, s] of Object.entries(props)) {
    const p = path === '' ? key : `${path}.${key}`;
    if (kindOf(s) === 'Literal') continue; // a variant's `type`
    out.push(`#### \`${p}\``, '');
    const facts = [`Default: ${defaultText(s)}`, `Type: ${typeText(s)}`, `XML: ${xmlText(key, s)}`];
    const f = keywords(s).feature;
    if (f !== undefined) facts.push(`Needs: the \`${f}\` feature`);
    out.push(facts.join(' · '), '');
    const d = String((s as S).description ?? '');
    if (d !== '') out.push(d, '');
    const item = itemOf(s);
    if (isGroup(s)) nested.push([p, s, undefined]);
    else if (item !== null && isGroup(item)) nested.push([`${p}[]`, item, undefined]);
    else if (
      kindOf(s) === 'Record' &&
      isGroup(Object.values((s as S).patternProperties as Record<string, TSchema>)[0]!)
    ) {
      nested.push([
        `${p}.<name>`,
        Object.values((s as S).patternProperties as Record<string, TSchema>)[0]!,
        undefined,
      ]);
    }
  }
  for (const [p, s] of nested) {
    if (kindOf(s) === 'Union') {
      for (const v of (s as S).anyOf as TSchema[]) {
        const type = ((v as S).properties as Record<string, S>).type!.const as string;
        group(p, v, out, `\`${p}\` with \`type: ${type}\``);
      }
    } else {
      group(p, s, out);
    }
  }
}

export function renderSettingsDoc(): string {
  const out: string[] = [];
  group('', ConfigSchema, out, 'Top level (`<Rapid>`)');
  return (
    out
      .join('\n')
      .replace(/\n{3,}/g, '\n\n')
      .trimEnd() + '\n'
  );
}
