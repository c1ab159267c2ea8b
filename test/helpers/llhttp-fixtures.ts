/**
 * Loads llhttp's request fixtures (../shared/corpora/llhttp/*.md, llhttp 9.4.2, MIT) into cases a
 * table-driven test can feed to Rapid's parser.
 *
 * Each case is one ```http block under a markdown heading (llhttp nests cases under `##` groups
 * and `###` titles; a few sit directly under `##`), with a `<!-- meta={...} -->` comment before it
 * and a ```log block after it holding llhttp's callback trace.
 *
 * Input bytes are built the way llhttp's runner (test/md-test.ts) builds them, as the corpora
 * README describes: drop the final newline; delete backslash-newline; every other newline becomes
 * CRLF; then the escapes \r \n \t \f \xHH \NNN (octal) become the bytes they name, and `${expr}`
 * is evaluated as JavaScript. Literal non-ASCII text is encoded as UTF-8, as llhttp's runner does.
 *
 * The trace is read back into messages: method, url, version, header fields, body, whether the
 * message completed, and the error (if any). Spans are printed raw by llhttp's fixture, a CR or LF
 * inside a span as a separate `span[x]=cr` / `=lf` line, and the runner turns `\t` and `\f` in the
 * expected log into the bytes; we undo both. `error code=22/23` ("Pause on CONNECT/Upgrade",
 * "Pause on PRI/Upgrade") is llhttp stopping to hand the connection over, not a parse error.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { sharedDir } from './paths.js';

export const LLHTTP_DIR = join(sharedDir, 'corpora', 'llhttp');

export interface LlhttpMessage {
  method: string;
  url: string;
  /** "1.1" etc. from the version span ('' if llhttp never got there). */
  version: string;
  /** Offset just after the version in the request line (-1 if llhttp never got there). */
  versionEnd: number;
  /** [name, value, name, value, ...] as llhttp reported them (value not trimmed). */
  headers: string[];
  /** Trailer fields of a chunked body, same layout. */
  trailers: string[];
  /** Body bytes as llhttp delivered them (for chunked: the chunk data only). */
  body: Buffer;
  headersComplete: boolean;
  /** From the `headers complete` line: content_length and flags (hex) as printed. */
  contentLength: number;
  flags: number;
  complete: boolean;
}

export interface LlhttpError {
  offset: number;
  code: number;
  reason: string;
}

export interface LlhttpCase {
  /** File name without .md, e.g. "transfer-encoding". */
  file: string;
  /** Heading text of the case. */
  title: string;
  /** 1-based line of the ```http fence, for messages. */
  line: number;
  /** `file: title`, unique across the corpus (used as the key of difference tables). */
  id: string;
  /** meta.type: "request", "request-lenient-*", "request-finish", "response", ... */
  type: string;
  meta: Record<string, unknown>;
  /** The input as llhttp's runner feeds it. */
  input: Buffer;
  /** llhttp rejected the input (a real error, not a pause for CONNECT/Upgrade). */
  error: LlhttpError | null;
  /** llhttp paused to hand the connection to another protocol (CONNECT, Upgrade, PRI). */
  upgradePause: LlhttpError | null;
  messages: LlhttpMessage[];
  /** Number of `message complete` lines. */
  messageCount: number;
  /** `finish=N` of request-finish cases (0 safe, 2 unsafe), else null. */
  finish: number | null;
}

/**
 * Bytes of an ```http block. `block` is the text between the fences including its final newline.
 */
export function fixtureBytes(block: string): Buffer {
  let s = block.replace(/\n$/, '');
  s = s.replace(/\\(\r\n|\r|\n)/g, '');
  s = s.replace(/\r\n|\r|\n/g, '\r\n');
  const out: number[] = [];
  const pushText = (t: string): void => {
    for (const b of Buffer.from(t, 'utf8')) out.push(b);
  };
  let i = 0;
  let text = '';
  const flush = (): void => {
    if (text.length > 0) pushText(text);
    text = '';
  };
  while (i < s.length) {
    const c = s[i]!;
    if (c === '\\' && i + 1 < s.length) {
      const n = s[i + 1]!;
      const simple = n === 'r' ? 13 : n === 'n' ? 10 : n === 't' ? 9 : n === 'f' ? 12 : -1;
      if (simple !== -1) {
        flush();
        out.push(simple);
        i += 2;
        continue;
      }
      const hex = /^x([0-9a-fA-F]{2})/.exec(s.slice(i + 1, i + 4));
      if (hex !== null) {
        flush();
        out.push(parseInt(hex[1]!, 16));
        i += 4;
        continue;
      }
      const oct = /^[0-7]{1,3}/.exec(s.slice(i + 1, i + 4));
      if (oct !== null) {
        flush();
        out.push(parseInt(oct[0], 8) & 0xff);
        i += 1 + oct[0].length;
        continue;
      }
    }
    if (c === '$' && s[i + 1] === '{') {
      const close = s.indexOf('}', i + 2);
      if (close !== -1) {
        flush();
        pushText(String(runInNewContext(s.slice(i + 2, close))));
        i = close + 1;
        continue;
      }
    }
    text += c;
    i++;
  }
  flush();
  return Buffer.from(out);
}

const SPAN = /^off=(\d+) len=(\d+) span\[([a-z_.]+)\]=(.*)$/;
const ERROR = /^off=(\d+) error code=(\d+) reason="(.*)"$/;
const HEADERS_COMPLETE =
  /^off=\d+ headers complete method=\d+ v=\d+\/\d+ flags=([0-9a-f]+) content_length=(\d+)$/;

function spanText(raw: string): string {
  if (raw === 'cr') return '\r';
  if (raw === 'lf') return '\n';
  // Printed as "%.*s" between quotes: the content is everything between the outer quotes.
  // The runner replaced the two-character escapes \t and \f in the expected log by the bytes.
  return raw.slice(1, -1).replace(/\\t/g, '\t').replace(/\\f/g, '\f');
}

function newMessage(): LlhttpMessage {
  return {
    method: '',
    url: '',
    version: '',
    versionEnd: -1,
    headers: [],
    trailers: [],
    body: Buffer.alloc(0),
    headersComplete: false,
    contentLength: 0,
    flags: 0,
    complete: false,
  };
}

/** Reads a ```log block into messages, error and finish code. */
export function parseLog(
  log: string,
): Pick<LlhttpCase, 'error' | 'upgradePause' | 'messages' | 'messageCount' | 'finish'> {
  const messages: LlhttpMessage[] = [];
  let msg: LlhttpMessage | null = null;
  let error: LlhttpError | null = null;
  let upgradePause: LlhttpError | null = null;
  let finish: number | null = null;
  let field = '';
  let value = '';
  const bodyParts: Buffer[] = [];
  const endBody = (): void => {
    if (msg !== null && bodyParts.length > 0) {
      msg.body = Buffer.concat([msg.body, ...bodyParts]);
      bodyParts.length = 0;
    }
  };
  for (const line of log.split('\n')) {
    if (line === '') continue;
    const span = SPAN.exec(line);
    if (span !== null) {
      const kind = span[3]!;
      const text = spanText(span[4]!);
      msg ??= newMessage();
      switch (kind) {
        case 'method':
          msg.method += text;
          break;
        case 'url':
          msg.url += text;
          break;
        case 'version':
          msg.version += text;
          break;
        case 'header_field':
          field += text;
          break;
        case 'header_value':
          value += text;
          break;
        case 'body':
          // The fixture prints bytes as they are; the log file is UTF-8 text of them.
          bodyParts.push(Buffer.from(text, 'utf8'));
          break;
        default:
          // protocol, chunk_extension_name/value: not compared.
          break;
      }
      continue;
    }
    const err = ERROR.exec(line);
    if (err !== null) {
      const e = { offset: Number(err[1]), code: Number(err[2]), reason: err[3]! };
      // HPE_PAUSED_UPGRADE (22) and HPE_PAUSED_H2_UPGRADE (23) are hand-overs, not errors.
      if (e.code === 22 || e.code === 23) upgradePause = e;
      else error = e;
      continue;
    }
    const rest = line.replace(/^off=(\d+|NULL) /, '');
    if (rest === 'message begin') {
      endBody();
      msg = newMessage();
      messages.push(msg);
    } else if (rest === 'version complete') {
      msg!.versionEnd = Number(/^off=(\d+)/.exec(line)![1]);
    } else if (rest === 'header_value complete') {
      (msg!.headersComplete ? msg!.trailers : msg!.headers).push(field, value);
      field = '';
      value = '';
    } else if (rest.startsWith('headers complete')) {
      const hc = HEADERS_COMPLETE.exec(line);
      msg!.headersComplete = true;
      if (hc !== null) {
        msg!.flags = parseInt(hc[1]!, 16);
        msg!.contentLength = Number(hc[2]);
      }
    } else if (rest === 'message complete') {
      endBody();
      msg!.complete = true;
    } else if (rest.startsWith('finish=')) {
      finish = Number(rest.slice(7));
    }
    // method/url/version/header_field complete, chunk header/complete, reset, pause: no data.
  }
  endBody();
  return {
    error,
    upgradePause,
    messages,
    messageCount: messages.filter((m) => m.complete).length,
    finish,
  };
}

/** Every case of one fixture file. */
export function loadFixtureFile(path: string, file: string): LlhttpCase[] {
  const lines = readFileSync(path, 'utf8').split('\n');
  const cases: LlhttpCase[] = [];
  let title = '';
  let meta: Record<string, unknown> = {};
  let pending: {
    input: Buffer;
    line: number;
    title: string;
    meta: Record<string, unknown>;
  } | null = null;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith('```')) {
      const lang = line.slice(3).trim();
      const start = i + 1;
      let end = start;
      while (end < lines.length && !lines[end]!.startsWith('```')) end++;
      const body = lines.slice(start, end).join('\n') + '\n';
      if (lang === 'http') {
        pending = { input: fixtureBytes(body), line: i + 1, title, meta };
      } else if (lang === 'log' && pending !== null) {
        const type = typeof pending.meta.type === 'string' ? pending.meta.type : '';
        cases.push({
          file,
          title: pending.title,
          line: pending.line,
          id: `${file}: ${pending.title}`,
          type,
          meta: pending.meta,
          input: pending.input,
          ...parseLog(body),
        });
        pending = null;
      }
      i = end;
      continue;
    }
    const heading = /^#{1,6} (.*)$/.exec(line);
    if (heading !== null) {
      title = heading[1]!.trim();
      meta = {};
      continue;
    }
    const m = /^<!-- meta=(.*) -->$/.exec(line.trim());
    if (m !== null) meta = JSON.parse(m[1]!) as Record<string, unknown>;
  }
  return cases;
}

/** Every case of every fixture file, in file order. Ids are made unique with a suffix. */
export function loadLlhttpCases(dir: string = LLHTTP_DIR): LlhttpCase[] {
  const all: LlhttpCase[] = [];
  const seen = new Map<string, number>();
  for (const name of readdirSync(dir).sort()) {
    if (!name.endsWith('.md')) continue;
    for (const c of loadFixtureFile(join(dir, name), name.slice(0, -3))) {
      const n = (seen.get(c.id) ?? 0) + 1;
      seen.set(c.id, n);
      if (n > 1) c.id = `${c.id} (${n})`;
      all.push(c);
    }
  }
  return all;
}
