/**
 * Locations tests need, found by walking up from the compiled file to the project root (the
 * directory with Rapid's package.json), so they hold whatever outDir the tests were built into.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'rapid')
          return dir;
      } catch {
        // not ours; keep walking
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('project root (package.json of rapid) not found');
    dir = up;
  }
}

export const projectRoot = findRoot();
/** ../shared beside the checkout (test corpora). */
export const sharedDir = join(projectRoot, '..', 'shared');
export const fixturesDir = join(projectRoot, 'test', 'fixtures');
