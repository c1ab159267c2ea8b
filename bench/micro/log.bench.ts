/**
 * One JSON access-log line per iteration, formatted as a string (accessLogFormatter('json'), the
 * emitter the LineWriter gets): fields that are printable ASCII (the fast path every ordinary
 * request takes), a UTF-8 user agent (decoded and written as text), and a user agent with bytes
 * that are not UTF-8 (written as \u00XX escapes).
 */
import type { RapidRequest } from '../../src/core/types.js';
import { accessLogFormatter } from '../../src/features/log/access.js';
import { Suite } from './harness.js';

const json = accessLogFormatter('json');

function request(agent: string): RapidRequest {
  const fields: Record<string, string> = {
    referer: 'https://example.com/from/a/page',
    'user-agent': agent,
  };
  return {
    method: 'GET',
    url: '/assets/app.js?v=12',
    httpVersion: '1.1',
    host: 'example.com',
    header: (name: string) => fields[name],
  } as unknown as RapidRequest;
}

const CHROME =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36';
// As the engines hand header values over: latin1, one char per byte.
const utf8 = (t: string): string => Buffer.from(t, 'utf8').toString('latin1');
const ascii = request(CHROME);
const text = request(utf8(`${CHROME} café ✓`));
const bytes = request(`${CHROME} caf\xe9 \xff`);

export const suite = new Suite('access log')
  .add('json line, ASCII fields', () => json(ascii, 200, 187, 170, 0, '127.0.0.1'))
  .add('json line, UTF-8 user agent', () => json(text, 200, 187, 170, 0, '127.0.0.1'))
  .add('json line, non-UTF-8 bytes in the user agent', () =>
    json(bytes, 200, 187, 170, 0, '127.0.0.1'),
  );
