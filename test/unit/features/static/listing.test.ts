/** Directory listing HTML (src/features/static/listing.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { escapeHtml, renderListing } from '../../../../src/features/static/listing.js';

describe('renderListing', () => {
  it('escapes names in text and links and percent-encodes hrefs', () => {
    const html = renderListing('/d/<x>/', [
      { name: '<img src=x onerror=alert(1)>', isDirectory: false, size: 5, mtimeMs: 0 },
      { name: 'a"b\'c&d', isDirectory: true, size: -1, mtimeMs: NaN },
      { name: 'plain.txt', isDirectory: false, size: 2048, mtimeMs: 0 },
    ]);
    assert.ok(!html.includes('<img'));
    assert.ok(html.includes('&lt;img src=x onerror=alert(1)&gt;'));
    assert.ok(html.includes('href="./%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E"'));
    assert.ok(html.includes('a&quot;b&#39;c&amp;d/'));
    assert.ok(
      html.includes('href="./a%22b\'c%26d/"') || html.includes('href="./a%22b&#39;c%26d/"'),
    );
    assert.ok(html.includes('Index of /d/&lt;x&gt;/'));
    assert.ok(html.includes('2.0 KiB'));
    // Directories first.
    assert.ok(html.indexOf('a&quot;b') < html.indexOf('plain.txt'));
    assert.ok(html.includes('href="../"'));
  });

  it('escapeHtml covers the five characters', () => {
    assert.equal(escapeHtml(`<>&"'`), '&lt;&gt;&amp;&quot;&#39;');
  });
});
