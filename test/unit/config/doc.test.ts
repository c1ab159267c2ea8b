/**
 * docs/config.md's settings reference is generated from the schema (npm run docs:config): the
 * file must be exactly what the generator writes now, so the doc and the schema cannot drift.
 * Also: every setting of the schema has a section, and the JSON Schema export is plain JSON.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as prettier from 'prettier';
import { renderSettingsDoc } from '../../../src/config/doc.js';
import { configJsonSchema } from '../../../src/config/schema.js';
import { projectRoot } from '../../helpers/paths.js';

const FILE = join(projectRoot, 'docs', 'config.md');
const BEGIN = '<!-- SETTINGS:BEGIN -->';
const END = '<!-- SETTINGS:END -->';

describe('docs/config.md', () => {
  it('holds the settings reference generated from the schema (run npm run docs:config)', async () => {
    const text = readFileSync(FILE, 'utf8');
    const a = text.indexOf(BEGIN);
    const b = text.indexOf(END);
    assert.ok(a !== -1 && b !== -1, 'markers present');
    const next = `${text.slice(0, a + BEGIN.length)}\n\n${renderSettingsDoc()}\n${text.slice(b)}`;
    const options = (await prettier.resolveConfig(FILE)) ?? {};
    const expected = await prettier.format(next, { ...options, filepath: FILE });
    assert.ok(text === expected, 'docs/config.md is out of date: run npm run docs:config');
  });

  it('has a section for every setting, with its default', () => {
    const doc = readFileSync(FILE, 'utf8');
    const schema = configJsonSchema();
    const missing: string[] = [];
    const walk = (s: Record<string, unknown>, path: string): void => {
      const props = s.properties as Record<string, Record<string, unknown>> | undefined;
      if (props !== undefined) {
        for (const [k, v] of Object.entries(props)) {
          if (v.const !== undefined) continue;
          const p = path === '' ? k : `${path}.${k}`;
          if (!doc.includes(`#### \`${p}\``)) missing.push(p);
          walk(v, p);
        }
      }
      if (s.items !== undefined) walk(s.items as Record<string, unknown>, `${path}[]`);
      for (const v of (s.anyOf as Record<string, unknown>[] | undefined) ?? []) walk(v, path);
    };
    walk(schema, '');
    assert.deepEqual(missing, []);
    assert.match(doc, /#### `keepAlive\.timeout`\n\nDefault: `"75s"`/);
    assert.match(doc, /#### `listeners\[\]\.port`\n\nDefault: `8080`/);
  });

  it('configJsonSchema() is plain JSON Schema with Rapid keywords under x-rapid', () => {
    const s = configJsonSchema();
    assert.equal(s.$schema, 'https://json-schema.org/draft/2020-12/schema');
    assert.equal(s.type, 'object');
    assert.equal(s.additionalProperties, false);
    const site = (s.properties as Record<string, Record<string, unknown>>).sites!;
    assert.deepEqual(site['x-rapid'], { xml: { item: 'Site', flat: true } });
    assert.deepEqual(JSON.parse(JSON.stringify(s)), s);
  });
});
