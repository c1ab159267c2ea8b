#!/usr/bin/env node
// Writes the settings reference of docs/config.md (between the SETTINGS markers) from the config
// schema (src/config/schema.ts, compiled to dist/), then formats the file with prettier. Run
// `npm run docs:config` after changing the schema; test/unit/config/doc.test.ts fails while the
// doc and the schema differ.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { renderSettingsDoc } = await import(
  pathToFileURL(join(root, 'dist', 'src', 'config', 'doc.js')).href
);
const prettier = await import('prettier');
const file = join(root, 'docs', 'config.md');
const text = readFileSync(file, 'utf8');
const begin = '<!-- SETTINGS:BEGIN -->';
const end = '<!-- SETTINGS:END -->';
const a = text.indexOf(begin);
const b = text.indexOf(end);
if (a === -1 || b === -1) throw new Error('docs/config.md has no SETTINGS markers');
const next = `${text.slice(0, a + begin.length)}\n\n${renderSettingsDoc()}\n${text.slice(b)}`;
const options = (await prettier.resolveConfig(file)) ?? {};
writeFileSync(file, await prettier.format(next, { ...options, filepath: file }));
console.log('docs/config.md: settings written');
