/** `--help` for a bench script: the first doc comment of its (compiled) file, as plain text. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** `moduleUrl`: the script's import.meta.url. */
export function printUsage(moduleUrl: string): void {
  const src = readFileSync(fileURLToPath(moduleUrl), 'utf8');
  const doc = /\/\*\*([\s\S]*?)\*\//.exec(src)?.[1] ?? '';
  console.log(doc.replace(/^ \* ?/gm, '').trim());
}
