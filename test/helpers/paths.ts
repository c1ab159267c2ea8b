/**
 * Locations tests need, found by walking up from the compiled file to the project root (the
 * directory with Rapid's package.json), so they hold whatever outDir the tests were built into.
 */
import { join } from 'node:path';
import { findPackageRoot } from '../../src/util/package-root.js';

export const projectRoot = findPackageRoot(import.meta.url);
/** ../shared beside the checkout (test corpora). */
export const sharedDir = join(projectRoot, '..', 'shared');
export const fixturesDir = join(projectRoot, 'test', 'fixtures');
