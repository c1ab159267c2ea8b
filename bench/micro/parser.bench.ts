/** The HTTP/1.1 request parser on the requests a server sees most. */
import { DEFAULT_LIMITS } from '../../src/core/types.js';
import { EV_BODY_DONE, EV_ERROR, EV_HEAD, MessageParser } from '../../src/http1/parser.js';
import { Suite } from './harness.js';

const PLAINTEXT = Buffer.from(
  'GET /plaintext HTTP/1.1\r\n' +
    'Host: 127.0.0.1:8080\r\n' +
    'Accept: text/plain,text/html;q=0.9,application/xhtml+xml;q=0.9,application/xml;q=0.8,*/*;q=0.7\r\n' +
    'Connection: keep-alive\r\n\r\n',
  'latin1',
);

const BROWSER = Buffer.from(
  'GET /articles/2024/11/a-long-article-title?utm_source=feed&ref=home HTTP/1.1\r\n' +
    'Host: www.example.com\r\n' +
    'User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36\r\n' +
    'Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8\r\n' +
    'Accept-Language: en-US,en;q=0.9,de;q=0.8\r\n' +
    'Accept-Encoding: gzip, deflate, br\r\n' +
    'Referer: https://www.example.com/\r\n' +
    'Cookie: session=0123456789abcdef0123456789abcdef; theme=dark; consent=yes\r\n' +
    'Upgrade-Insecure-Requests: 1\r\n' +
    'Sec-Fetch-Dest: document\r\n' +
    'Sec-Fetch-Mode: navigate\r\n' +
    'Sec-Fetch-Site: same-origin\r\n' +
    'If-None-Match: "5f2b-1a2b3c"\r\n' +
    'Connection: keep-alive\r\n\r\n',
  'latin1',
);

const PIPELINED = Buffer.concat(Array.from({ length: 16 }, () => PLAINTEXT));

const chunkedBody = (() => {
  const part = 'x'.repeat(256);
  let s =
    'POST /upload HTTP/1.1\r\nHost: example.com\r\nContent-Type: text/plain\r\n' +
    'Transfer-Encoding: chunked\r\n\r\n';
  for (let i = 0; i < 4; i++) s += `100\r\n${part}\r\n`;
  return Buffer.from(`${s}0\r\n\r\n`, 'latin1');
})();

const parser = new MessageParser(DEFAULT_LIMITS);
parser.onBody = () => {};

/** Parse `buf` completely; returns the number of messages, failing loudly on a parser error. */
function parseAll(buf: Buffer): number {
  let off = 0;
  let n = 0;
  while (off < buf.length) {
    off = parser.execute(buf, off);
    const ev = parser.event;
    if (ev === EV_ERROR) throw new Error(`parser error: ${parser.error?.code}`);
    if (ev === EV_BODY_DONE || (ev === EV_HEAD && !parser.hasBody)) n++;
  }
  return n;
}

// Check the inputs once, so a parser change that rejects them fails here and not as a fast no-op.
for (const [name, buf, want] of [
  ['plaintext', PLAINTEXT, 1],
  ['browser', BROWSER, 1],
  ['pipelined', PIPELINED, 16],
  ['chunked', chunkedBody, 1],
] as const) {
  const got = parseAll(buf);
  if (got !== want) throw new Error(`parser bench input ${name}: ${got} messages, not ${want}`);
}

export const suite = new Suite('parser')
  .add('TechEmpower plaintext request (4 fields)', () => parseAll(PLAINTEXT))
  .add('browser GET (13 fields, query, cookie)', () => parseAll(BROWSER))
  .add('16 pipelined requests in one buffer', () => parseAll(PIPELINED))
  .add('POST, chunked 1 KB body in 4 chunks', () => parseAll(chunkedBody))
  .add('plaintext request split in 3 reads', () => {
    // Feeding views of one buffer: the parser must carry a straddling line across calls.
    const a = PLAINTEXT.subarray(0, 20);
    const b = PLAINTEXT.subarray(20, 70);
    const c = PLAINTEXT.subarray(70);
    parser.execute(a, 0);
    parser.execute(b, 0);
    return parser.execute(c, 0);
  });
