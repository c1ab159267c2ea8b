/**
 * The access log's bytes against a reference: a few hundred random requests (seeded, so a failure
 * is reproducible from the seed printed with it) with odd bytes in every logged field are sent on
 * raw sockets, and each format's file must equal, line by line, what a simple formatter written
 * here makes of the bytes that were sent and received. Then lines larger than a 64 KiB batch
 * buffer, order and integrity under concurrent load, and the LineWriter itself with tiny batches.
 */
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { AccessLogFormat } from '../../src/features/log/index.js';
import { LineWriter } from '../../src/features/log/index.js';
import type { Handler } from '../../src/core/types.js';
import { withServer } from '../helpers/log-server.js';
import { prng } from '../helpers/prng.js';
import { RawClient, type RawResponse } from '../helpers/raw.js';

const dir = mkdtempSync(join(tmpdir(), 'rapid-log-lines-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const file = (): string => join(dir, `access-${++n}.log`);

// ---- the reference formatter --------------------------------------------------------------

/** What one request was (as sent, latin1: one char per byte) and what came back. */
interface Exchange {
  /** null: the server refused the request (the log has "-" for it). */
  method: string | null;
  target: string;
  version: string;
  host: string;
  referer: string | undefined;
  agent: string | undefined;
  status: number;
  /** Response bytes on the wire: head + body. */
  bytes: number;
  body: number;
}

/** Apache's escaping of %r, %{Referer}i and %{User-agent}i, char by char. */
function apacheEscape(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.charCodeAt(0);
    if (c === 0x22 || c === 0x5c) out += `\\${ch}`;
    else if (c >= 0x20 && c < 0x7f) out += ch;
    else out += `\\x${c.toString(16).padStart(2, '0')}`;
  }
  return out;
}

const TS = /^127\.0\.0\.1 - - \[\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] /;

/**
 * The JSON access log's string for a field's bytes (a latin1 string, one char per byte): the text
 * when the bytes are valid UTF-8 (TextDecoder's fatal mode decides), else each non-ASCII byte as
 * \u00XX; DEL as \u007f either way. Written char by char, independently of the server's code.
 */
function jsonRef(s: string): string {
  let text: string | null;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(s, 'latin1'));
  } catch {
    text = null;
  }
  let out = '"';
  for (const ch of text ?? s) {
    const c = ch.codePointAt(0) as number;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x0d) out += '\\r';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x08) out += '\\b';
    else if (c === 0x0c) out += '\\f';
    else if (c < 0x20 || c === 0x7f || (text === null && c >= 0x80)) {
      out += `\\u${c.toString(16).padStart(4, '0')}`;
    } else out += ch;
  }
  return `${out}"`;
}

function reference(format: AccessLogFormat, x: Exchange): string {
  if (format === 'json') {
    let line = '{"time":"T","remote":"127.0.0.1"';
    if (x.method !== null) {
      line +=
        `,"host":${jsonRef(x.host)},"method":${jsonRef(x.method)}` +
        `,"target":${jsonRef(x.target)},"protocol":"HTTP/${x.version}"`;
    }
    line += `,"status":${x.status},"bytes":${x.bytes},"body_bytes":${x.body},"duration_ms":0`;
    if (x.method !== null) {
      if (x.referer !== undefined) line += `,"referer":${jsonRef(x.referer)}`;
      if (x.agent !== undefined) line += `,"user_agent":${jsonRef(x.agent)}`;
    }
    return `${line}}`;
  }
  const request =
    x.method === null ? '-' : apacheEscape(`${x.method} ${x.target} HTTP/${x.version}`);
  let line = `127.0.0.1 - - [T] "${request}" ${x.status} ${x.body > 0 ? x.body : '-'}`;
  if (format === 'combined') {
    const q = (v: string | undefined): string =>
      x.method === null || v === undefined ? '-' : apacheEscape(v);
    line += ` "${q(x.referer)}" "${q(x.agent)}"`;
  }
  return line;
}

/** A logged line with its clock fields replaced as reference() has them. */
function normalize(format: AccessLogFormat, line: string): string {
  if (format !== 'json') {
    assert.match(line, TS);
    return line.replace(TS, '127.0.0.1 - - [T] ');
  }
  const o = JSON.parse(line) as { time: string; duration_ms: number };
  assert.match(o.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.ok(typeof o.duration_ms === 'number' && o.duration_ms >= 0, line);
  return line
    .replace(/^\{"time":"[^"]+"/, '{"time":"T"')
    .replace(/,"duration_ms":[0-9.e+-]+/, ',"duration_ms":0');
}

const lines = (path: string): string[] => {
  const text = readFileSync(path, 'utf8');
  assert.ok(text === '' || text.endsWith('\n'), 'the file ends with a whole line');
  return text === '' ? [] : text.slice(0, -1).split('\n');
};

// ---- random requests ----------------------------------------------------------------------

const TCHAR = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
/** Every byte the request-target may hold (visible ASCII). */
const VCHAR = Array.from({ length: 0x7f - 0x21 }, (_, i) => String.fromCharCode(0x21 + i)).join('');

interface Planned {
  bytes: Buffer;
  /** What the log should see of it (status and sizes are filled in from the response). */
  expect: Omit<Exchange, 'status' | 'bytes' | 'body'>;
  refused: boolean;
}

/** UTF-8 bytes of a random code point (BMP and beyond), as latin1 chars. */
function utf8Chars(rand: () => number): string {
  const cp =
    rand() < 0.5
      ? 0x80 + Math.floor(rand() * 0x780)
      : rand() < 0.8
        ? 0x800 + Math.floor(rand() * 0xd000)
        : 0x10000 + Math.floor(rand() * 0xfffff);
  return Buffer.from(String.fromCodePoint(cp), 'utf8').toString('latin1');
}

function pick(rand: () => number, s: string): string {
  return s[Math.floor(rand() * s.length)] as string;
}

function randomTarget(rand: () => number): string {
  let t = '/';
  const len = Math.floor(rand() * 40);
  for (let i = 0; i < len; i++) {
    const r = rand();
    if (r < 0.3) t += pick(rand, VCHAR);
    else if (r < 0.5) {
      // %-escapes of UTF-8 and latin1 bytes, upper or lower case hex
      const bytes = rand() < 0.5 ? utf8Chars(rand) : String.fromCharCode(Math.floor(rand() * 256));
      for (const b of bytes) {
        const hex = b.charCodeAt(0).toString(16).padStart(2, '0');
        t += `%${rand() < 0.5 ? hex : hex.toUpperCase()}`;
      }
    } else if (r < 0.55) t += pick(rand, '"\\"\\');
    else t += pick(rand, 'abcxyz/.-_~');
  }
  return t;
}

/** A field value: visible ASCII, quotes and backslashes, HTAB, obs-text and UTF-8 bytes. */
function randomValue(rand: () => number, len: number): string {
  let v = '';
  for (let i = 0; i < len; i++) {
    const r = rand();
    if (r < 0.4) v += pick(rand, VCHAR);
    else if (r < 0.55) v += ' ';
    else if (r < 0.6) v += '\t';
    else if (r < 0.7) v += pick(rand, '"\\');
    else if (r < 0.85) v += String.fromCharCode(0x80 + Math.floor(rand() * 0x80));
    else v += utf8Chars(rand);
  }
  // The parser trims optional whitespace around a value; the reference sees it trimmed.
  return v;
}

const trimOws = (v: string): string => v.replace(/^[ \t]+|[ \t]+$/g, '');

function randomRequest(rand: () => number, i: number): Planned {
  const r = rand();
  const method =
    r < 0.4
      ? 'GET'
      : r < 0.6
        ? pick(rand, 'P') + pick(rand, 'OU') + pick(rand, 'ST')
        : Array.from({ length: 1 + Math.floor(rand() * 12) }, () => pick(rand, TCHAR)).join('');
  const target =
    randomTarget(rand) + (rand() < 0.3 ? `?q=${i}&${randomTarget(rand).slice(1)}` : '');
  const host = rand() < 0.8 ? 'example.test' : `h${i}.test:${1 + Math.floor(rand() * 65535)}`;
  const referer = rand() < 0.7 ? randomValue(rand, Math.floor(rand() * 60)) : undefined;
  const agent = rand() < 0.85 ? randomValue(rand, Math.floor(rand() * 120)) : undefined;
  // Bytes the parser must refuse (logged as "-" with its 400): raw non-ASCII in the target, a
  // control character in a field value.
  const refuse = rand() < 0.08 ? (rand() < 0.5 ? 'target' : 'value') : null;
  const sentTarget = refuse === 'target' ? `${target}${utf8Chars(rand)}` : target;
  // A control character other than HTAB (0x01-0x08, 0x0a-0x1f but CR/LF, DEL) in the user agent.
  const ctl = [1, 2, 3, 4, 5, 6, 7, 8, 0x0b, 0x0c, 0x0e, 0x1b, 0x1f, 0x7f];
  const sentAgent =
    refuse === 'value'
      ? `${agent ?? ''}a${String.fromCharCode(ctl[Math.floor(rand() * ctl.length)] as number)}b`
      : agent;
  let head = `${method} ${sentTarget} HTTP/1.1\r\nHost: ${host}\r\n`;
  if (referer !== undefined) head += `Referer: ${referer}\r\n`;
  if (sentAgent !== undefined) head += `User-Agent: ${sentAgent}\r\n`;
  head += '\r\n';
  return {
    bytes: Buffer.from(head, 'latin1'),
    refused: refuse !== null,
    expect: {
      method: refuse !== null ? null : method,
      target,
      version: '1.1',
      host,
      referer: referer === undefined ? undefined : trimOws(referer),
      agent: agent === undefined ? undefined : trimOws(agent),
    },
  };
}

// ---- sending ------------------------------------------------------------------------------

/**
 * Send the requests one after another, on keep-alive connections (a new one after the server
 * closed one), and record what came back for each.
 */
async function sendAll(port: number, planned: Planned[]): Promise<Exchange[]> {
  const out: Exchange[] = [];
  let client: RawClient | null = null;
  let count = 0;
  let seen = 0;
  try {
    for (const p of planned) {
      if (client === null || client.closed || client.ended) {
        client?.destroy();
        client = await RawClient.connect(port);
        count = 0;
        seen = 0;
      }
      await client.send(p.bytes);
      const res: RawResponse = (await client.waitResponses(++count))[count - 1]!;
      const total = client.received.length;
      out.push({
        ...p.expect,
        status: res.status,
        bytes: total - seen,
        body: res.body.length,
      });
      seen = total;
      if (p.refused)
        assert.equal(res.status, 400, `refused: ${JSON.stringify(p.bytes.toString('latin1'))}`);
      else assert.equal(res.status, 200, `accepted: ${JSON.stringify(p.bytes.toString('latin1'))}`);
      if ((res.header('connection') ?? '').toLowerCase() === 'close') {
        await client.waitClose();
        client = null;
      }
    }
  } finally {
    client?.destroy();
  }
  return out;
}

/** A body whose size depends on the request, so the size field varies (0 gives "-"). */
const varied = { handler: ((req, res) => res.send('x'.repeat(req.url.length % 7))) as Handler };

const FORMATS: AccessLogFormat[] = ['common', 'combined', 'json'];

function assertLog(format: AccessLogFormat, path: string, want: Exchange[], what: string): void {
  // Every format's file is valid UTF-8 (CLF escapes every non-ASCII byte; JSON writes text or
  // \u00XX escapes), so it can be read as text whatever the clients sent.
  assert.ok(isUtf8(readFileSync(path)), `${format}: the file is valid UTF-8 (${what})`);
  const got = lines(path);
  assert.equal(got.length, want.length, `${format}: one line per request (${what})`);
  for (let i = 0; i < want.length; i++) {
    assert.equal(
      normalize(format, got[i]!),
      reference(format, want[i]!),
      `${format} line ${i} (${what})`,
    );
  }
}

describe('access log lines against a reference formatter', () => {
  for (const seed of [1, 0x5eed, 20261201]) {
    it(
      `random odd bytes in every field, three formats (seed ${seed})`,
      { timeout: 120_000 },
      async () => {
        const rand = prng(seed);
        const planned = Array.from({ length: 150 }, (_, i) => randomRequest(rand, i));
        assert.ok(planned.some((p) => p.refused) && planned.some((p) => !p.refused));
        for (const format of FORMATS) {
          const path = file();
          let sent: Exchange[] = [];
          await withServer({ ...varied, accessLog: { path, format } }, async (port) => {
            sent = await sendAll(port, planned);
          });
          assertLog(format, path, sent, `seed ${seed}`);
        }
      },
    );
  }
});

/** A request planned by hand: method, target and the two quoted fields as latin1 strings. */
function plan(target: string, agent?: string, referer?: string): Planned {
  let head = `GET ${target} HTTP/1.1\r\nHost: example.test\r\n`;
  if (referer !== undefined) head += `Referer: ${referer}\r\n`;
  if (agent !== undefined) head += `User-Agent: ${agent}\r\n`;
  return {
    bytes: Buffer.from(`${head}\r\n`, 'latin1'),
    refused: false,
    expect: {
      method: 'GET',
      target,
      version: '1.1',
      host: 'example.test',
      referer: referer === undefined ? undefined : trimOws(referer),
      agent: agent === undefined ? undefined : trimOws(agent),
    },
  };
}

describe('access log lines larger than a batch buffer', () => {
  const BIG = 100 * 1024;
  const limits = { maxRequestLineBytes: 1024 * 1024, maxHeaderBytes: 1024 * 1024 };
  for (const format of FORMATS) {
    it(
      `${format}: a 100 KB path and a 100 KB user agent are written whole`,
      { timeout: 60_000 },
      async () => {
        const rand = prng(BIG);
        // Path: quotes and backslashes (escaped to two bytes each in CLF) and %-escapes.
        let path = '/big/';
        while (path.length < BIG) path += rand() < 0.2 ? pick(rand, '"\\') : pick(rand, 'ab%c/');
        // User agent: obs-text (four bytes each escaped in CLF, six as \u00XX in JSON: random
        // bytes 0x80-0xff are not valid UTF-8).
        let agent = 'big ';
        while (agent.length < BIG)
          agent +=
            rand() < 0.5 ? String.fromCharCode(0x80 + Math.floor(rand() * 128)) : pick(rand, VCHAR);
        agent += 'end';
        const planned = [
          plan('/before', 'small'),
          plan(path, 'small'),
          plan('/between', agent, 'ref'),
          plan(path, agent, agent),
          plan('/after', 'small'),
        ];
        const file_ = file();
        let sent: Exchange[] = [];
        await withServer(
          { ...varied, accessLog: { path: file_, format }, limits },
          async (port) => {
            sent = await sendAll(port, planned);
          },
        );
        const sizes = lines(file_).map((l) => Buffer.byteLength(l));
        assert.ok(
          Math.max(...sizes) > 64 * 1024,
          `a line is larger than a batch (${sizes.join(', ')})`,
        );
        assertLog(format, file_, sent, 'big lines');
      },
    );
  }
});

describe('access log under concurrent load', () => {
  it(
    'every line once, whole, and in request order per connection',
    { timeout: 120_000 },
    async () => {
      const CONNS = 8;
      const PER = 150;
      const rand = prng(42);
      // ~2 KB lines: a batch buffer fills every ~30 lines, so many batches are sealed and written
      // while requests keep coming.
      const filler = Array.from({ length: 1000 }, () =>
        rand() < 0.1 ? '"' : pick(rand, 'abcdef '),
      ).join('');
      const path = file();
      const want = new Map<string, { conn: number; seq: number }>();
      const order: number[][] = Array.from({ length: CONNS }, () => []);
      await withServer({ ...varied, accessLog: { path, format: 'combined' } }, async (port) => {
        await Promise.all(
          Array.from({ length: CONNS }, async (_, conn) => {
            const client = await RawClient.connect(port);
            try {
              let seq = 0;
              let seen = 0;
              const local = prng(conn + 1);
              while (seq < PER) {
                // A burst of 1 to 10 pipelined requests in one write.
                const burst = Math.min(PER - seq, 1 + Math.floor(local() * 10));
                const parts: Planned[] = [];
                for (let k = 0; k < burst; k++, seq++) {
                  parts.push(
                    plan(
                      `/load/c${conn}/r${seq}?${'q'.repeat(seq % 5)}`,
                      `ua c${conn} r${seq} ${filler}`,
                    ),
                  );
                }
                await client.send(Buffer.concat(parts.map((p) => p.bytes)));
                const responses = await client.waitResponses(seq);
                for (let k = 0; k < burst; k++) {
                  const res = responses[seq - burst + k]!;
                  assert.equal(res.status, 200);
                  const line = reference('combined', {
                    ...parts[k]!.expect,
                    status: 200,
                    bytes: 0,
                    body: res.body.length,
                  });
                  want.set(line, { conn, seq: seq - burst + k });
                }
                seen = responses.length;
              }
              assert.equal(seen, PER);
            } finally {
              client.destroy();
            }
          }),
        );
      });
      const got = lines(path);
      assert.equal(got.length, CONNS * PER, 'one line per request');
      const count = new Map<string, number>();
      for (const raw of got) {
        const line = normalize('combined', raw);
        const who = want.get(line);
        assert.ok(
          who !== undefined,
          `a line that no request made (torn or interleaved?): ${JSON.stringify(raw.slice(0, 200))}`,
        );
        count.set(line, (count.get(line) ?? 0) + 1);
        order[who.conn]!.push(who.seq);
      }
      for (const [line, c] of count) assert.equal(c, 1, `written once: ${line.slice(0, 120)}`);
      for (let c = 0; c < CONNS; c++) {
        assert.deepEqual(
          order[c],
          Array.from({ length: PER }, (_, i) => i),
          `connection ${c} in request order`,
        );
      }
    },
  );
});

describe('LineWriter with tiny batches', () => {
  for (const seed of [7, 99]) {
    it(
      `lines of every size around the batch size come out whole and in order (seed ${seed})`,
      { timeout: 60_000 },
      async () => {
        const rand = prng(seed);
        const path = file();
        const w = await LineWriter.open(path, { batchBytes: 100, flushMs: 1 });
        const expected: Buffer[] = [];
        try {
          for (let i = 0; i < 2000; i++) {
            const len = rand() < 0.1 ? 100 + Math.floor(rand() * 400) : Math.floor(rand() * 120);
            let line = `${i}:`;
            while (line.length < len) line += rand() < 0.1 ? pick(rand, 'é✓') : pick(rand, 'abc ');
            line += '\n';
            w.write(line);
            expected.push(Buffer.from(line, 'utf8'));
            const r = rand();
            if (r < 0.02) await w.flush();
            else if (r < 0.05) await new Promise((resolve) => setImmediate(resolve));
            else if (r < 0.06) await new Promise((resolve) => setTimeout(resolve, 2));
          }
        } finally {
          await w.close();
        }
        assert.equal(w.dropped, 0);
        const got = readFileSync(path);
        const want = Buffer.concat(expected);
        if (!got.equals(want)) {
          let at = 0;
          while (at < got.length && got[at] === want[at]) at++;
          assert.fail(
            `differs at byte ${at} of ${want.length} (got ${got.length}): ${JSON.stringify(got.toString('utf8', Math.max(0, at - 40), at + 40))}`,
          );
        }
      },
    );
  }
});
