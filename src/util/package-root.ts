/**
 * Rapid's package root: the nearest directory at or above a module whose package.json is named
 * "rapid". Walking up from the calling module holds for every outDir the code was compiled into
 * (dist/, .tmp/<helper>/dist/) and for an installed package. Used by the CLI (version, the
 * example site), the bench scripts and the test helpers.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `from`: the caller's import.meta.url. */
export function findPackageRoot(from: string): string {
  let dir = dirname(fileURLToPath(from));
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
    if (up === dir) throw new Error('cannot find the rapid package root (package.json of rapid)');
    dir = up;
  }
}
