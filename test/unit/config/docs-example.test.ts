/**
 * The full example of docs/config.md ("Config mode in workers, logs, TLS and interop") loads with
 * this build's factories: every setting it shows exists and is wired.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { factories } from '../../../src/config/features.js';
import { loadConfig } from '../../../src/config/load.js';
import { projectRoot } from '../../helpers/paths.js';

describe('docs/config.md full example', () => {
  it('loads', async () => {
    const doc = readFileSync(join(projectRoot, 'docs', 'config.md'), 'utf8');
    const at = doc.indexOf('A full example (YAML');
    assert.ok(at > 0, 'the example is in docs/config.md');
    const m = /```yaml\n([\s\S]*?)```/.exec(doc.slice(at));
    assert.ok(m !== null);
    const dir = mkdtempSync(join(tmpdir(), 'rapid-doc-example-'));
    try {
      mkdirSync(join(dir, 'example', 'public'), { recursive: true });
      mkdirSync(join(dir, 'blog'));
      const file = join(dir, 'rapid.yaml');
      writeFileSync(file, m[1]!);
      const loaded = await loadConfig(file, { features: { ...factories, workers: true } });
      const c = loaded.config;
      assert.equal(c.workers, 'auto');
      assert.equal(c.listeners[1]!.tls?.cert, '/etc/rapid/default.pem');
      assert.equal(c.sites[0]!.accessLog?.format, 'json');
      assert.deepEqual(
        c.sites.flatMap((s) => s.handlers.map((h) => h.type)),
        ['fastcgi', 'proxy', 'cgi'],
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
