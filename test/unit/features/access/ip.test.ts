/**
 * IP allow/deny lists: address parsing, CIDR edge cases, most-specific-wins semantics, mapped
 * IPv4-in-IPv6, and a differential check of the compiled ranges against node:net's BlockList.
 */
import assert from 'node:assert/strict';
import { BlockList, isIP } from 'node:net';
import { describe, it } from 'node:test';
import { IpMatcher, parseAddress } from '../../../../src/features/access/ip.js';

describe('parseAddress', () => {
  it('parses IPv4 strictly', () => {
    assert.deepEqual(parseAddress('127.0.0.1'), { v4: 0x7f000001, v6: null });
    assert.deepEqual(parseAddress('0.0.0.0'), { v4: 0, v6: null });
    assert.deepEqual(parseAddress('255.255.255.255'), { v4: 0xffffffff, v6: null });
    for (const bad of [
      '256.0.0.1',
      '1.2.3',
      '1.2.3.4.5',
      '01.2.3.4',
      '1..2.3',
      '',
      'a.b.c.d',
      ' 1.2.3.4',
    ]) {
      assert.equal(parseAddress(bad), null, bad);
    }
  });

  it('parses IPv6 with compression, embedded IPv4 and zone ids', () => {
    assert.deepEqual(parseAddress('::1'), { v4: -1, v6: 1n });
    assert.deepEqual(parseAddress('::'), { v4: -1, v6: 0n });
    assert.deepEqual(parseAddress('2001:db8::1'), { v4: -1, v6: (0x20010db8n << 96n) | 1n });
    assert.deepEqual(parseAddress('fe80::1%eth0'), { v4: -1, v6: (0xfe80n << 112n) | 1n });
    assert.deepEqual(parseAddress('::1.2.3.4'), { v4: -1, v6: 0x01020304n });
    assert.deepEqual(
      parseAddress('1:2:3:4:5:6:7:8'),
      parseAddress('0001:0002:0003:0004:0005:0006:0007:0008'),
    );
    for (const bad of [
      '1::2::3',
      '1:2:3:4:5:6:7:8:9',
      '12345::',
      ':1',
      '1:',
      'g::1',
      '1:2:3:4:5:6:7:1.2.3.4',
    ]) {
      assert.equal(parseAddress(bad), null, bad);
    }
  });

  it('reads IPv4-mapped IPv6 as the IPv4 address (both spellings)', () => {
    assert.deepEqual(parseAddress('::ffff:127.0.0.1'), { v4: 0x7f000001, v6: null });
    assert.deepEqual(parseAddress('::FFFF:7f00:1'), { v4: 0x7f000001, v6: null });
    assert.deepEqual(parseAddress('0:0:0:0:0:ffff:10.1.2.3'), parseAddress('10.1.2.3'));
  });

  it('agrees with node:net isIP on random and tricky inputs', () => {
    const samples = [
      '::ffff:1.2.3.4',
      '1::',
      '::2:3:4:5:6:7:8',
      '1:2:3:4:5:6:7::',
      '1:2:3:4:5:6::8',
      '1::7:8',
      '1.2.3.04',
      '0.0.0.00',
    ];
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let i = 0; i < 2000; i++) {
      const groups = Array.from({ length: 8 }, () => rnd(65536).toString(16));
      const cut = rnd(8);
      const len = rnd(8 - cut);
      samples.push(
        len > 0
          ? `${groups.slice(0, cut).join(':')}::${groups.slice(cut + len).join(':')}`
          : groups.join(':'),
      );
      samples.push([rnd(256), rnd(256), rnd(256), rnd(300)].join('.'));
    }
    for (const s of samples) {
      assert.equal(parseAddress(s) !== null, isIP(s) !== 0, s);
    }
  });
});

describe('IpMatcher', () => {
  const ok = (m: IpMatcher, a: string): boolean => m.allows(a);

  it('an allow list lets only its addresses in', () => {
    const m = new IpMatcher(['10.0.0.0/8', '192.168.1.7', '::1'], []);
    assert.equal(ok(m, '10.0.0.0'), true);
    assert.equal(ok(m, '10.255.255.255'), true);
    assert.equal(ok(m, '11.0.0.0'), false);
    assert.equal(ok(m, '9.255.255.255'), false);
    assert.equal(ok(m, '192.168.1.7'), true);
    assert.equal(ok(m, '192.168.1.8'), false);
    assert.equal(ok(m, '::1'), true);
    assert.equal(ok(m, '::2'), false);
  });

  it('a deny list keeps only its addresses out', () => {
    const m = new IpMatcher([], ['203.0.113.0/24', '2001:db8::/32']);
    assert.equal(ok(m, '203.0.113.200'), false);
    assert.equal(ok(m, '203.0.114.1'), true);
    assert.equal(ok(m, '2001:db8:ffff::1'), false);
    assert.equal(ok(m, '2001:db9::1'), true);
  });

  it('the most specific entry wins; deny wins a tie', () => {
    const only10 = new IpMatcher(['10.0.0.0/8'], ['all']);
    assert.equal(ok(only10, '10.1.2.3'), true);
    assert.equal(ok(only10, '8.8.8.8'), false);
    assert.equal(ok(only10, '::1'), false);
    const hole = new IpMatcher(['10.0.0.0/8'], ['10.0.0.5', '10.9.0.0/16']);
    assert.equal(ok(hole, '10.0.0.4'), true);
    assert.equal(ok(hole, '10.0.0.5'), false);
    assert.equal(ok(hole, '10.0.0.6'), true);
    assert.equal(ok(hole, '10.9.200.1'), false);
    assert.equal(ok(hole, '10.10.0.0'), true);
    const nested = new IpMatcher(['10.9.9.0/24'], ['10.9.0.0/16', 'all']);
    assert.equal(ok(nested, '10.9.9.9'), true);
    assert.equal(ok(nested, '10.9.8.9'), false);
    const tie = new IpMatcher(['1.2.3.4/32'], ['1.2.3.4']);
    assert.equal(ok(tie, '1.2.3.4'), false);
  });

  it('CIDR edge cases: /0, /32, /128, host bits set, boundaries', () => {
    const all4 = new IpMatcher(['0.0.0.0/0'], []);
    assert.equal(ok(all4, '0.0.0.0'), true);
    assert.equal(ok(all4, '255.255.255.255'), true);
    assert.equal(ok(all4, '2001:db8::1'), false);
    const host = new IpMatcher(['10.1.2.3/32'], []);
    assert.equal(ok(host, '10.1.2.3'), true);
    assert.equal(ok(host, '10.1.2.2'), false);
    // Host bits beyond the prefix are ignored (10.1.2.3/24 is 10.1.2.0/24), as Apache and nginx do.
    const loose = new IpMatcher(['10.1.2.3/24'], []);
    assert.equal(ok(loose, '10.1.2.0'), true);
    assert.equal(ok(loose, '10.1.2.255'), true);
    assert.equal(ok(loose, '10.1.3.0'), false);
    const v6host = new IpMatcher(['2001:db8::1/128'], []);
    assert.equal(ok(v6host, '2001:db8::1'), true);
    assert.equal(ok(v6host, '2001:db8::2'), false);
    const v6top = new IpMatcher(['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00/120'], []);
    assert.equal(ok(v6top, 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'), true);
    assert.equal(ok(v6top, 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:feff'), false);
    const odd = new IpMatcher(['172.16.0.0/12'], []);
    assert.equal(ok(odd, '172.31.255.255'), true);
    assert.equal(ok(odd, '172.32.0.0'), false);
    assert.equal(ok(odd, '172.15.255.255'), false);
  });

  it('mapped addresses match IPv4 entries, and IPv6 entries that cover the mapped range', () => {
    const v4 = new IpMatcher(['127.0.0.0/8'], []);
    assert.equal(ok(v4, '::ffff:127.0.0.1'), true);
    assert.equal(ok(v4, '::ffff:128.0.0.1'), false);
    const mappedEntry = new IpMatcher(['::ffff:10.0.0.0/104'], []);
    assert.equal(ok(mappedEntry, '10.20.30.40'), true);
    assert.equal(ok(mappedEntry, '::ffff:10.20.30.40'), true);
    assert.equal(ok(mappedEntry, '11.0.0.1'), false);
    const wide = new IpMatcher(['::/0'], []);
    assert.equal(ok(wide, '192.0.2.1'), true);
    assert.equal(ok(wide, '::1'), true);
    const narrow = new IpMatcher(['2001:db8::/32'], []);
    assert.equal(ok(narrow, '192.0.2.1'), false);
  });

  it('named sets', () => {
    const local = new IpMatcher(['loopback'], []);
    assert.equal(ok(local, '127.9.9.9'), true);
    assert.equal(ok(local, '::1'), true);
    assert.equal(ok(local, '::ffff:127.0.0.1'), true);
    assert.equal(ok(local, '10.0.0.1'), false);
    const priv = new IpMatcher(['uniquelocal', 'linklocal'], []);
    for (const a of [
      '10.1.1.1',
      '172.20.0.1',
      '192.168.0.1',
      'fd00::1',
      '169.254.1.1',
      'fe80::1%lo',
    ]) {
      assert.equal(ok(priv, a), true, a);
    }
    assert.equal(ok(priv, '8.8.8.8'), false);
  });

  it('a client without an IP address (Unix socket) matches only "all"', () => {
    assert.equal(new IpMatcher(['127.0.0.1'], []).allows(''), false);
    assert.equal(new IpMatcher([], ['127.0.0.1']).allows(''), true);
    assert.equal(new IpMatcher([], ['all']).allows(''), false);
    assert.equal(new IpMatcher(['all'], []).allows(''), true);
  });

  it('refuses what is not an address, a CIDR block or a set name', () => {
    for (const bad of [
      '10.0.0.0/33',
      '::/129',
      '10.0.0.0/',
      '10.0.0.0/-1',
      '10.0.0.0/8/8',
      'localhost',
      '1.2.3',
      'fe80::1%eth0',
      '10.0.0.0/0x8',
      '',
    ]) {
      assert.throws(() => new IpMatcher([bad], []), /not an IPv4\/IPv6|prefix length/, bad);
    }
  });

  it('agrees with node:net BlockList on random lists and addresses (longest prefix aside)', () => {
    // With allow entries only, "allowed" is exactly "in some block": BlockList decides that too.
    let seed = 12345;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const v4 = (): string => [rnd(4), rnd(256), rnd(256), rnd(256)].join('.');
    const v6 = (): string =>
      `2001:db8:${rnd(4).toString(16)}:${rnd(65536).toString(16)}::${rnd(65536).toString(16)}`;
    for (let round = 0; round < 40; round++) {
      const entries: string[] = [];
      const list = new BlockList();
      for (let i = 0; i < 1 + rnd(12); i++) {
        if (rnd(2) === 0) {
          const a = v4();
          const bits = rnd(33);
          entries.push(`${a}/${bits}`);
          list.addSubnet(a, bits, 'ipv4');
        } else {
          const a = v6();
          const bits = 16 + rnd(113);
          entries.push(`${a}/${bits}`);
          list.addSubnet(a, bits, 'ipv6');
        }
      }
      const m = new IpMatcher(entries, []);
      for (let i = 0; i < 300; i++) {
        const a = rnd(2) === 0 ? v4() : v6();
        assert.equal(
          m.allows(a),
          list.check(a, isIP(a) === 6 ? 'ipv6' : 'ipv4'),
          `${a} in ${entries.join(' ')}`,
        );
      }
    }
  });
});
