/**
 * htpasswd entries made by Apache's own `htpasswd` (apache2-utils): parsing, verification of each
 * hash kind (ASCII and UTF-8 passwords), refused formats, and Basic credential parsing.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import {
  parseHtpasswd,
  verifyPassword,
  type UserEntry,
} from '../../../../src/features/access/htpasswd.js';
import {
  challenge,
  MALFORMED,
  NO_CREDENTIALS,
  parseBasic,
} from '../../../../src/features/access/basic.js';

/** One entry line from the real htpasswd binary (flags: -B bcrypt, -m apr1, -s SHA-1 ...). */
export function htpasswdLine(flag: string, user: string, password: string): string {
  return execFileSync(
    'htpasswd',
    ['-nb' + flag, ...(flag === 'B' ? ['-C', '4'] : []), user, password],
    {
      encoding: 'utf8',
    },
  ).trim();
}

function entryOf(line: string): UserEntry {
  const parsed = parseHtpasswd(line);
  assert.deepEqual(parsed.errors, []);
  const entry = [...parsed.users.values()][0];
  assert.ok(entry);
  return entry;
}

const pw = (s: string): Buffer => Buffer.from(s, 'utf8');

describe('htpasswd entries', () => {
  for (const [flag, kind] of [
    ['B', 'bcrypt'],
    ['m', 'apr1'],
    ['s', 'sha1'],
  ] as const) {
    it(`htpasswd -${flag} (${kind}): right and wrong passwords, ASCII and UTF-8`, async () => {
      for (const secret of ['s3cret!', 'pässwörd ✓', 'a', 'x'.repeat(60)]) {
        const entry = entryOf(htpasswdLine(flag, 'alice', secret));
        assert.equal(entry.kind, kind);
        assert.equal(await verifyPassword(entry, pw(secret)), true, secret);
        assert.equal(await verifyPassword(entry, pw(`${secret}x`)), false, secret);
        assert.equal(await verifyPassword(entry, pw('')), false, secret);
      }
    });
  }

  it('bcrypt $2a$/$2b$/$2y$ all verify', async () => {
    const y = entryOf(htpasswdLine('B', 'u', 'pw')).hash;
    assert.match(y, /^\$2y\$/);
    for (const v of ['a', 'b', 'y']) {
      const entry = entryOf(`u:$2${v}${y.slice(3)}`);
      assert.equal(await verifyPassword(entry, pw('pw')), true, v);
    }
  });

  it('a bcrypt password that is not UTF-8 never verifies', async () => {
    const entry = entryOf(htpasswdLine('B', 'u', 'pw'));
    assert.equal(await verifyPassword(entry, Buffer.from([0xff, 0xfe])), false);
  });

  it('MD5-crypt $1$ entries verify too', () => {
    // openssl passwd -1 -salt abcdefgh secret
    const entry = entryOf('u:$1$abcdefgh$cHJi5PXp/ki/ktXzqlk6I1');
    assert.equal(entry.kind, 'apr1');
    assert.equal(verifyPassword(entry, pw('secret')), true);
    assert.equal(verifyPassword(entry, pw('secreT')), false);
  });

  it('skips comments and blank lines, keeps the first entry of a user, allows CRLF', () => {
    const a = htpasswdLine('s', 'a', '1');
    const b = htpasswdLine('s', 'b', '2');
    const a2 = htpasswdLine('s', 'a', 'other');
    const parsed = parseHtpasswd(`# users\r\n\r\n${a}\r\n   \n${b}\n${a2}\n`);
    assert.deepEqual(parsed.errors, []);
    assert.deepEqual([...parsed.users.keys()], ['a', 'b']);
    assert.equal(verifyPassword(parsed.users.get('a') as UserEntry, pw('1')), true);
  });

  it('refuses formats it cannot verify, naming the line', () => {
    const des = htpasswdLine('d', 'd', 'pw');
    const sha512 = htpasswdLine('5', 'e', 'pw');
    const sha256 = htpasswdLine('2', 'f', 'pw');
    const plain = htpasswdLine('p', 'g', 'pw');
    const good = htpasswdLine('m', 'ok', 'pw');
    const parsed = parseHtpasswd(
      [good, des, sha512, sha256, plain, 'nocolon', ':nouser', 'h:$2y$05$short'].join('\n'),
    );
    assert.deepEqual([...parsed.users.keys()], ['ok']);
    assert.equal(parsed.errors.length, 7);
    assert.match(parsed.errors[0] as string, /^line 2 \(user "d"\): crypt\(3\) DES/);
    assert.match(parsed.errors[1] as string, /^line 3 .*SHA-256\/512-crypt/);
    assert.match(parsed.errors[2] as string, /^line 4 .*SHA-256\/512-crypt/);
    assert.match(parsed.errors[3] as string, /^line 5 .*plain-text/);
    assert.match(parsed.errors[4] as string, /^line 6: expected user:hash/);
    assert.match(parsed.errors[5] as string, /^line 7: expected user:hash/);
    assert.match(parsed.errors[6] as string, /^line 8 .*malformed bcrypt/);
  });
});

describe('Basic credentials', () => {
  const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64');

  it('reads user and password (the password may contain colons)', () => {
    const c = parseBasic(`Basic ${b64('alice:pa:ss')}`);
    assert.ok(typeof c === 'object');
    assert.equal(c.user, 'alice');
    assert.equal(c.password.toString(), 'pa:ss');
    const lower = parseBasic(`basic   ${b64('ü:ö')}`);
    assert.ok(typeof lower === 'object');
    assert.equal(lower.user, 'ü');
    const empty = parseBasic(`Basic ${b64(':')}`);
    assert.ok(typeof empty === 'object');
    assert.equal(empty.user, '');
    assert.equal(empty.password.length, 0);
    const unpadded = parseBasic(`Basic ${b64('ab:c').replace(/=+$/, '')}`);
    assert.ok(typeof unpadded === 'object');
  });

  it('no header or another scheme: no credentials (challenge)', () => {
    assert.equal(parseBasic(undefined), NO_CREDENTIALS);
    assert.equal(parseBasic('Bearer abc'), NO_CREDENTIALS);
    assert.equal(parseBasic('Basicx abc'), NO_CREDENTIALS);
    assert.equal(parseBasic(''), NO_CREDENTIALS);
  });

  it('malformed Basic credentials', () => {
    for (const bad of [
      'Basic',
      'Basic ',
      'Basic !!!!',
      `Basic ${b64('nocolon')}`,
      `Basic ${b64('a:b')}, Basic ${b64('c:d')}`,
      `Basic ${b64('a\u0000b:c')}`,
      `Basic ${b64('a:b\r\n')}`,
      `Basic ${b64(Buffer.from([0xff, 0x3a, 0x61]))}`,
      'Basic a',
      `Basic ${b64('a:b')} extra`,
    ]) {
      assert.equal(parseBasic(bad), MALFORMED, bad);
    }
  });

  it('the challenge quotes the realm', () => {
    assert.equal(challenge('Admin'), 'Basic realm="Admin", charset="UTF-8"');
    assert.equal(challenge('a "b" \\c'), 'Basic realm="a \\"b\\" \\\\c", charset="UTF-8"');
  });
});
