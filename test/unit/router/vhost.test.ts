import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RapidError } from '../../../src/core/errors.js';
import { HostMatcher, parseHost } from '../../../src/router/vhost.js';

function throwsCode(fn: () => void, code: string): void {
  assert.throws(fn, (err: unknown) => err instanceof RapidError && err.code === code);
}

describe('parseHost', () => {
  it('normalises case, trailing dot and port', () => {
    assert.deepEqual(parseHost('Example.COM'), { name: 'example.com', port: -1 });
    assert.deepEqual(parseHost('example.com.'), { name: 'example.com', port: -1 });
    assert.deepEqual(parseHost('example.com.:8080'), { name: 'example.com', port: 8080 });
    assert.deepEqual(parseHost('example.com:'), { name: 'example.com', port: -1 });
    assert.deepEqual(parseHost('127.0.0.1:80'), { name: '127.0.0.1', port: 80 });
    assert.deepEqual(parseHost('my_host-1'), { name: 'my_host-1', port: -1 });
  });

  it('handles IPv6 literals in canonical form', () => {
    assert.deepEqual(parseHost('[::1]:8080'), { name: '[::1]', port: 8080 });
    assert.deepEqual(parseHost('[0:0:0:0:0:0:0:1]'), { name: '[::1]', port: -1 });
    assert.deepEqual(parseHost('[2001:DB8::1]'), { name: '[2001:db8::1]', port: -1 });
  });

  it('rejects what is not a host', () => {
    for (const bad of [
      '',
      ':80',
      '.',
      '.example.com',
      'a..b',
      'exa mple.com',
      'example.com:http',
      'example.com:65536',
      'example.com:123456',
      'example.com:80:80',
      'user@example.com',
      '[::1',
      '[::1]x',
      '[::1]:x',
      '[not-ip]',
      'bücher.de',
      'a/b',
      'x'.repeat(254),
    ]) {
      assert.equal(parseHost(bad), null, bad);
    }
  });
});

describe('HostMatcher', () => {
  it('picks exact names and aliases, case-insensitively', () => {
    const m = new HostMatcher<string>();
    m.add(['example.com', 'www.example.com'], 'main');
    m.add('api.example.com', 'api');
    assert.equal(m.find('example.com'), 'main');
    assert.equal(m.find('WWW.Example.com'), 'main');
    assert.equal(m.find('www.example.com.'), 'main');
    assert.equal(m.find('api.example.com:8443'), 'api');
    assert.equal(m.find('other.com'), undefined);
  });

  it('matches *.name at any depth but not the name itself; longest suffix wins', () => {
    const m = new HostMatcher<string>();
    m.add('*.example.com', 'wild');
    m.add('*.api.example.com', 'api-wild');
    m.add('exact.api.example.com', 'exact');
    assert.equal(m.find('a.example.com'), 'wild');
    assert.equal(m.find('a.b.c.example.com'), 'wild');
    assert.equal(m.find('example.com'), undefined);
    assert.equal(m.find('x.api.example.com'), 'api-wild');
    assert.equal(m.find('y.x.api.example.com'), 'api-wild');
    assert.equal(m.find('api.example.com'), 'wild');
    assert.equal(m.find('exact.api.example.com'), 'exact');
    assert.equal(m.find('notexample.com'), undefined);
  });

  it('takes .name as the name and its subdomains (nginx)', () => {
    const m = new HostMatcher<string>();
    m.add('.example.org', 'org');
    assert.equal(m.find('example.org'), 'org');
    assert.equal(m.find('w.example.org'), 'org');
    assert.equal(m.find('xexample.org'), undefined);
  });

  it('falls back to the default site, also for invalid or missing hosts', () => {
    const m = new HostMatcher<string>();
    m.add('example.com', 'main');
    m.setDefault('fallback');
    assert.equal(m.find('unknown.net'), 'fallback');
    assert.equal(m.find(''), 'fallback');
    assert.equal(m.find('bad host'), 'fallback');
    assert.equal(m.find('[::1'), 'fallback');
    assert.equal(m.find('example.com'), 'main');
  });

  it('considers ports: port-bound entries beat port-less ones of the same name', () => {
    const m = new HostMatcher<string>();
    m.add('example.com', 'any-port');
    m.add('example.com:8080', 'on-8080');
    m.add('*.example.com:8443', 'wild-8443');
    m.add('*:9000', 'default-9000');
    m.add('*', 'default');
    assert.equal(m.find('example.com:8080'), 'on-8080');
    assert.equal(m.find('example.com:80'), 'any-port');
    assert.equal(m.find('example.com'), 'any-port');
    // The local port, when given, decides over the port in the Host value.
    assert.equal(m.find('example.com', 8080), 'on-8080');
    assert.equal(m.find('example.com:8080', 80), 'any-port');
    assert.equal(m.find('a.example.com:8443'), 'wild-8443');
    assert.equal(m.find('a.example.com'), 'default');
    assert.equal(m.find('nothing', 9000), 'default-9000');
    assert.equal(m.find('nothing:9000'), 'default-9000');
    assert.equal(m.find('nothing:9001'), 'default');
  });

  it('prefers an exact name over a wildcard with a matching port', () => {
    const m = new HostMatcher<string>();
    m.add('*.example.com:8080', 'wild-8080');
    m.add('a.example.com', 'exact');
    assert.equal(m.find('a.example.com:8080'), 'exact');
    assert.equal(m.find('b.example.com:8080'), 'wild-8080');
  });

  it('skips an exact entry bound to other ports', () => {
    const m = new HostMatcher<string>();
    m.add('a.example.com:8080', 'exact-8080');
    m.add('*.example.com', 'wild');
    assert.equal(m.find('a.example.com:9090'), 'wild');
    assert.equal(m.find('a.example.com:8080'), 'exact-8080');
  });

  it('handles IPv6 literal sites', () => {
    const m = new HostMatcher<string>();
    m.add('[::1]:8080', 'v6-8080');
    m.add('[0::1]', 'v6');
    m.add('127.0.0.1', 'v4');
    assert.equal(m.find('[::1]:8080'), 'v6-8080');
    assert.equal(m.find('[::1]'), 'v6');
    assert.equal(m.find('[0:0::1]:80'), 'v6');
    assert.equal(m.find('127.0.0.1:3000'), 'v4');
  });

  it('stores Unicode names as IDNA ASCII', () => {
    const m = new HostMatcher<string>();
    m.add('bücher.example', 'idn');
    assert.equal(m.find('xn--bcher-kva.example'), 'idn');
  });

  it('rejects malformed names and duplicates, atomically', () => {
    const m = new HostMatcher<string>();
    for (const bad of ['', 'a b', 'www.*.com', 'ex*.com', '*.[::1]', 'a.com:x', '*:', 'a..com']) {
      throwsCode(() => m.add(bad, 'x'), 'RAPID_ERR_VHOST_INVALID_NAME');
    }
    throwsCode(() => m.add([], 'x'), 'RAPID_ERR_VHOST_INVALID_NAME');
    m.add('example.com', 'a');
    throwsCode(() => m.add('EXAMPLE.com.', 'b'), 'RAPID_ERR_VHOST_CONFLICT');
    throwsCode(() => m.add(['new.com', 'example.com'], 'b'), 'RAPID_ERR_VHOST_CONFLICT');
    assert.equal(m.find('new.com'), undefined);
    throwsCode(() => m.add(['x.com', 'X.com'], 'b'), 'RAPID_ERR_VHOST_CONFLICT');
    m.add('example.com:81', 'c');
    throwsCode(() => m.add('example.com:81', 'd'), 'RAPID_ERR_VHOST_CONFLICT');
    m.add('*.example.com', 'w');
    throwsCode(() => m.add('.example.com', 'e'), 'RAPID_ERR_VHOST_CONFLICT');
    m.setDefault('def');
    throwsCode(() => m.setDefault('def2'), 'RAPID_ERR_VHOST_CONFLICT');
  });

  it('sees sites added after lookups (the cache is cleared)', () => {
    const m = new HostMatcher<string>();
    assert.equal(m.find('late.com'), undefined);
    m.add('late.com', 'late');
    assert.equal(m.find('late.com'), 'late');
  });

  it('stays correct past its cache bound', () => {
    const m = new HostMatcher<string>();
    m.add('*.example.com', 'wild');
    for (let i = 0; i < 3000; i++) assert.equal(m.find(`h${i}.example.com`), 'wild');
    assert.equal(m.find('h1.example.com'), 'wild');
  });
});
