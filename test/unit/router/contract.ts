/**
 * The shared router contract (after hono's src/router/common.case.test.ts): every `Router<T>`
 * implementation runs this one suite. `runRouterContract(name, newRouter)` registers node:test
 * cases; a *.test.ts file calls it once per implementation.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RapidError } from '../../../src/core/errors.js';
import type {
  Params,
  RouteMatch,
  Router,
  RouterFactory,
  RouterOptions,
} from '../../../src/router/types.js';
import { prng } from '../../helpers/prng.js';

type R = Router<string>;

function found(
  r: R,
  method: string,
  path: string,
): { store: string; params: Params; rest: string | null } {
  const m = r.find(method, path);
  assert.equal(m.kind, 'found', `${method} ${path} should be found, got ${m.kind}`);
  if (m.kind !== 'found') throw new Error('unreachable');
  return { store: m.store, params: { ...m.params }, rest: m.rest };
}

function expectStore(r: R, method: string, path: string, store: string, params: Params = {}): void {
  const m = found(r, method, path);
  assert.equal(m.store, store, `${method} ${path}`);
  assert.deepEqual(m.params, params, `${method} ${path} params`);
}

function kind(r: R, method: string, path: string): RouteMatch<string>['kind'] {
  return r.find(method, path).kind;
}

function throwsCode(fn: () => void, code: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof RapidError, `expected RapidError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
}

export function runRouterContract(name: string, newRouter: RouterFactory): void {
  const make = (options?: RouterOptions): R => newRouter<string>(options);

  describe(`router contract: ${name}`, () => {
    describe('static routes', () => {
      it('matches exact paths only', () => {
        const r = make();
        r.add('GET', '/', 'root');
        r.add('GET', '/user', 'user');
        r.add('GET', '/users', 'users');
        r.add('GET', '/users/all', 'all');
        r.add('GET', '/u', 'u');
        expectStore(r, 'GET', '/', 'root');
        expectStore(r, 'GET', '/user', 'user');
        expectStore(r, 'GET', '/users', 'users');
        expectStore(r, 'GET', '/users/all', 'all');
        expectStore(r, 'GET', '/u', 'u');
        for (const p of ['/us', '/userss', '/users/al', '/users/all/x', '/x', '//', '/users/']) {
          assert.equal(kind(r, 'GET', p), 'not-found', p);
        }
      });

      it('never matches an empty, asterisk-form or absolute-form path', () => {
        const r = make();
        r.add('ALL', '/*', 'catch');
        assert.equal(kind(r, 'GET', ''), 'not-found');
        assert.equal(kind(r, 'OPTIONS', '*'), 'not-found');
        assert.equal(kind(r, 'GET', 'http://h/x'), 'not-found');
      });

      it('shares a static result object between lookups of parameterless routes', () => {
        const r = make();
        r.add('GET', '/a', 'a');
        const m1 = r.find('GET', '/a');
        const m2 = r.find('GET', '/a');
        assert.equal(m1.kind, 'found');
        assert.deepEqual({ ...(m2 as { params: Params }).params }, {});
      });

      it('matches non-ASCII static text written literally or percent-encoded', () => {
        const r = make();
        r.add('GET', '/café', 'literal');
        r.add('GET', '/na%C3%AFve', 'encoded');
        expectStore(r, 'GET', '/caf%C3%A9', 'literal');
        expectStore(r, 'GET', '/caf%c3%a9', 'literal');
        expectStore(r, 'GET', '/na%C3%AFve', 'encoded');
        expectStore(r, 'GET', '/%6Ea%C3%AFve', 'encoded'); // %6E = "n"
      });

      it('takes "::" as a literal colon', () => {
        const r = make();
        r.add('POST', '/v1/things::batchGet', 'batch');
        r.add('GET', '/v1/things/:id', 'thing');
        expectStore(r, 'POST', '/v1/things:batchGet', 'batch');
        expectStore(r, 'POST', '/v1/things%3AbatchGet', 'batch');
        assert.equal(kind(r, 'POST', '/v1/thingsXbatchGet'), 'not-found');
      });
    });

    describe('parameters', () => {
      it('captures named parameters', () => {
        const r = make();
        r.add('GET', '/users/:id', 'user');
        r.add('GET', '/users/:id/posts/:post', 'post');
        r.add('GET', '/org-:org/repos', 'repos');
        expectStore(r, 'GET', '/users/42', 'user', { id: '42' });
        expectStore(r, 'GET', '/users/42/posts/abc', 'post', { id: '42', post: 'abc' });
        expectStore(r, 'GET', '/org-rapid/repos', 'repos', { org: 'rapid' });
      });

      it('never matches an empty value and never crosses "/"', () => {
        const r = make();
        r.add('GET', '/users/:id', 'user');
        assert.equal(kind(r, 'GET', '/users/'), 'not-found');
        assert.equal(kind(r, 'GET', '/users'), 'not-found');
        assert.equal(kind(r, 'GET', '/users/a/b'), 'not-found');
        assert.equal(kind(r, 'GET', '/users//'), 'not-found');
      });

      it('gives a prototype-free params object', () => {
        const r = make();
        r.add('GET', '/p/:id', 'p');
        const m = r.find('GET', '/p/constructor');
        assert.equal(m.kind, 'found');
        if (m.kind !== 'found') return;
        assert.equal(m.params.id, 'constructor');
        assert.equal('toString' in m.params, false);
        assert.equal('hasOwnProperty' in m.params, false);
        assert.equal((m.params as { constructor?: unknown }).constructor, undefined);
        const s = r.find('GET', '/p/__proto__');
        assert.equal(s.kind === 'found' && s.params['id'], '__proto__');
      });

      it('lets different methods name the same position differently', () => {
        const r = make();
        r.add('GET', '/items/:id', 'get');
        r.add('DELETE', '/items/:itemId', 'del');
        expectStore(r, 'GET', '/items/7', 'get', { id: '7' });
        expectStore(r, 'DELETE', '/items/7', 'del', { itemId: '7' });
      });

      it('splits several parameters in one segment at the first occurrence of the text between', () => {
        const r = make();
        r.add('GET', '/range/:from-:to', 'range');
        r.add('GET', '/img/:name.png', 'png');
        r.add('GET', '/img/:file', 'file');
        r.add('GET', '/dl/:name.:ext', 'dl');
        expectStore(r, 'GET', '/range/2020-2021', 'range', { from: '2020', to: '2021' });
        expectStore(r, 'GET', '/range/2020-01-02', 'range', { from: '2020', to: '01-02' });
        assert.equal(kind(r, 'GET', '/range/2020'), 'not-found');
        assert.equal(kind(r, 'GET', '/range/-x'), 'not-found');
        expectStore(r, 'GET', '/img/a.b.png', 'png', { name: 'a.b' });
        expectStore(r, 'GET', '/img/logo.svg', 'file', { file: 'logo.svg' });
        expectStore(r, 'GET', '/dl/archive.tar.gz', 'dl', { name: 'archive', ext: 'tar.gz' });
      });

      it('bounds parameter length with maxParamLength', () => {
        const r = make({ maxParamLength: 10 });
        r.add('GET', '/p/:v', 'p');
        expectStore(r, 'GET', '/p/' + 'a'.repeat(10), 'p', { v: 'a'.repeat(10) });
        assert.equal(kind(r, 'GET', '/p/' + 'a'.repeat(11)), 'not-found');
      });
    });

    describe('regex constraints', () => {
      it('matches only values the regex accepts, anchored', () => {
        const r = make();
        r.add('GET', '/posts/:id(\\d+)', 'num');
        r.add('GET', '/f/:ext(png|jpg)', 'img');
        expectStore(r, 'GET', '/posts/123', 'num', { id: '123' });
        assert.equal(kind(r, 'GET', '/posts/12a'), 'not-found');
        assert.equal(kind(r, 'GET', '/posts/a12'), 'not-found');
        expectStore(r, 'GET', '/f/png', 'img', { ext: 'png' });
        assert.equal(kind(r, 'GET', '/f/apng'), 'not-found');
        assert.equal(kind(r, 'GET', '/f/pngx'), 'not-found');
      });

      it('prefers regex parameters over plain ones, in registration order', () => {
        const r = make();
        r.add('GET', '/p/:slug', 'slug');
        r.add('GET', '/p/:id(\\d+)', 'id');
        r.add('GET', '/p/:hex([0-9a-f]+)', 'hex');
        expectStore(r, 'GET', '/p/123', 'id', { id: '123' });
        expectStore(r, 'GET', '/p/beef', 'hex', { hex: 'beef' });
        expectStore(r, 'GET', '/p/hello', 'slug', { slug: 'hello' });
      });

      it('tests the decoded value and supports text after the parameter', () => {
        const r = make();
        r.add('GET', '/n/:id(\\d+)', 'n');
        r.add('GET', '/v/:major(\\d+).:minor(\\d+)', 'v');
        r.add('GET', '/s/:s(a/b)', 'slash');
        expectStore(r, 'GET', '/n/%31%32', 'n', { id: '12' });
        expectStore(r, 'GET', '/v/1.20', 'v', { major: '1', minor: '20' });
        assert.equal(kind(r, 'GET', '/v/1.x'), 'not-found');
        expectStore(r, 'GET', '/s/a%2Fb', 'slash', { s: 'a/b' });
      });

      it('accepts parentheses, classes and escapes inside the regex', () => {
        const r = make();
        r.add('GET', '/d/:date((\\d{4})-(\\d{2}))', 'date');
        r.add('GET', '/c/:c([()]+)', 'paren');
        expectStore(r, 'GET', '/d/2024-05', 'date', { date: '2024-05' });
        expectStore(r, 'GET', '/c/()', 'paren', { c: '()' });
      });
    });

    describe('wildcards', () => {
      it('takes the rest of the path, possibly empty, as "*"', () => {
        const r = make();
        r.add('GET', '/files/*', 'files');
        r.add('GET', '/img*', 'img');
        expectStore(r, 'GET', '/files/a/b/c.txt', 'files', { '*': 'a/b/c.txt' });
        expectStore(r, 'GET', '/files/', 'files', { '*': '' });
        assert.equal(kind(r, 'GET', '/files'), 'not-found');
        expectStore(r, 'GET', '/imgs/x', 'img', { '*': 's/x' });
        assert.equal(kind(r, 'GET', '/im'), 'not-found');
        expectStore(r, 'GET', '/img', 'img', { '*': '' });
      });

      it('decodes the wildcard value, %2F included', () => {
        const r = make();
        r.add('GET', '/files/*', 'files');
        expectStore(r, 'GET', '/files/a%2Fb/%20c', 'files', { '*': 'a/b/ c' });
      });

      it('keeps parameters before the wildcard', () => {
        const r = make();
        r.add('GET', '/u/:user/files/*', 'uf');
        expectStore(r, 'GET', '/u/ann/files/x/y', 'uf', { user: 'ann', '*': 'x/y' });
      });

      it('catches everything at the root', () => {
        const r = make();
        r.add('GET', '/*', 'all');
        r.add('GET', '/exact', 'exact');
        expectStore(r, 'GET', '/', 'all', { '*': '' });
        expectStore(r, 'GET', '/a/b', 'all', { '*': 'a/b' });
        expectStore(r, 'GET', '/exact', 'exact');
      });
    });

    describe('priorities', () => {
      it('static > regex > param > wildcard at the same position', () => {
        const r = make();
        r.add('GET', '/x/*', 'wild');
        r.add('GET', '/x/:p', 'param');
        r.add('GET', '/x/:n(\\d+)', 'regex');
        r.add('GET', '/x/new', 'static');
        expectStore(r, 'GET', '/x/new', 'static');
        expectStore(r, 'GET', '/x/5', 'regex', { n: '5' });
        expectStore(r, 'GET', '/x/abc', 'param', { p: 'abc' });
        expectStore(r, 'GET', '/x/a/b', 'wild', { '*': 'a/b' });
        expectStore(r, 'GET', '/x/', 'wild', { '*': '' });
      });

      it('does not depend on registration order', () => {
        const r = make();
        r.add('GET', '/x/new', 'static');
        r.add('GET', '/x/:n(\\d+)', 'regex');
        r.add('GET', '/x/:p', 'param');
        r.add('GET', '/x/*', 'wild');
        expectStore(r, 'GET', '/x/new', 'static');
        expectStore(r, 'GET', '/x/5', 'regex', { n: '5' });
        expectStore(r, 'GET', '/x/abc', 'param', { p: 'abc' });
        expectStore(r, 'GET', '/x/a/b', 'wild', { '*': 'a/b' });
      });

      it('backtracks to a lower-priority route that has the method', () => {
        const r = make();
        r.add('POST', '/users/new', 'create');
        r.add('GET', '/users/:id', 'show');
        r.add('GET', '/users/new/*', 'deep');
        expectStore(r, 'GET', '/users/new', 'show', { id: 'new' });
        expectStore(r, 'POST', '/users/new', 'create');
      });

      it('backtracks out of a static branch that dead-ends deeper', () => {
        const r = make();
        r.add('GET', '/a/b/c', 'abc');
        r.add('GET', '/a/:x/d', 'axd');
        r.add('GET', '/a/*', 'wild');
        expectStore(r, 'GET', '/a/b/d', 'axd', { x: 'b' });
        expectStore(r, 'GET', '/a/b/e', 'wild', { '*': 'b/e' });
        expectStore(r, 'GET', '/a/b/c', 'abc');
      });

      it('prefers a parameter followed by text in its segment over a whole-segment one', () => {
        const r = make();
        r.add('GET', '/f/:file', 'file');
        r.add('GET', '/f/:name.json', 'json');
        expectStore(r, 'GET', '/f/a.json', 'json', { name: 'a' });
        expectStore(r, 'GET', '/f/a.xml', 'file', { file: 'a.xml' });
      });
    });

    describe('methods, 404 and 405', () => {
      it('answers not-found when no route matches the path', () => {
        const r = make();
        r.add('GET', '/a', 'a');
        assert.equal(kind(r, 'GET', '/b'), 'not-found');
        assert.equal(kind(r, 'POST', '/b'), 'not-found');
      });

      it('answers method-not-allowed with a sorted Allow including HEAD and OPTIONS', () => {
        const r = make();
        r.add('GET', '/a', 'get');
        r.add('PUT', '/a', 'put');
        const m = r.find('DELETE', '/a');
        assert.equal(m.kind, 'method-not-allowed');
        assert.equal(m.kind === 'method-not-allowed' && m.allow, 'GET, HEAD, OPTIONS, PUT');
      });

      it('unions Allow over every route the path reaches', () => {
        const r = make();
        r.add('POST', '/users/new', 'create');
        r.add('PUT', '/users/:id', 'update');
        r.add('PATCH', '/users/*', 'patch');
        const m = r.find('DELETE', '/users/new');
        assert.equal(m.kind, 'method-not-allowed');
        assert.equal(m.kind === 'method-not-allowed' && m.allow, 'OPTIONS, PATCH, POST, PUT');
        assert.deepEqual(r.allowedMethods('/users/new'), ['OPTIONS', 'PATCH', 'POST', 'PUT']);
        assert.deepEqual(r.allowedMethods('/users/7'), ['OPTIONS', 'PATCH', 'PUT']);
        assert.deepEqual(r.allowedMethods('/nope'), []);
        assert.deepEqual(r.allowedMethods('/users/%zz'), []);
      });

      it('routes any method to an ALL route, after the specific ones', () => {
        const r = make();
        r.add('ALL', '/any', 'any');
        r.add('GET', '/any', 'get');
        expectStore(r, 'GET', '/any', 'get');
        expectStore(r, 'PURGE', '/any', 'any');
        expectStore(r, 'OPTIONS', '/any', 'any');
        assert.deepEqual(r.allowedMethods('/any'), ['ALL', 'GET', 'HEAD', 'OPTIONS']);
      });

      it('registers several methods at once', () => {
        const r = make();
        r.add(['GET', 'POST'], '/m', 'gp');
        expectStore(r, 'GET', '/m', 'gp');
        expectStore(r, 'POST', '/m', 'gp');
        assert.equal(kind(r, 'PUT', '/m'), 'method-not-allowed');
      });

      it('treats methods as case-sensitive tokens (RFC 9110 §9.1)', () => {
        const r = make();
        r.add('GET', '/m', 'get');
        r.add('MKCOL', '/m', 'mkcol');
        assert.equal(kind(r, 'get', '/m'), 'method-not-allowed');
        expectStore(r, 'MKCOL', '/m', 'mkcol');
      });
    });

    describe('HEAD and OPTIONS', () => {
      it('answers HEAD with the GET route', () => {
        const r = make();
        r.add('GET', '/g', 'get');
        const m = r.find('HEAD', '/g');
        assert.equal(m.kind, 'found');
        assert.equal(m.kind === 'found' && m.store, 'get');
        assert.equal(m.kind === 'found' && m.route.method, 'GET');
      });

      it('lets an explicit HEAD route win, whichever is registered first', () => {
        const a = make();
        a.add('GET', '/g', 'get');
        a.add('HEAD', '/g', 'head');
        expectStore(a, 'HEAD', '/g', 'head');
        const b = make();
        b.add('HEAD', '/g', 'head');
        b.add('GET', '/g', 'get');
        expectStore(b, 'HEAD', '/g', 'head');
        expectStore(b, 'GET', '/g', 'get');
      });

      it('prefers the GET route for HEAD over an ALL route', () => {
        const r = make();
        r.add('ALL', '/g', 'all');
        r.add('GET', '/g', 'get');
        expectStore(r, 'HEAD', '/g', 'get');
      });

      it('answers OPTIONS with the allowed methods when no route takes it', () => {
        const r = make();
        r.add('GET', '/o/:id', 'get');
        r.add('POST', '/o/:id', 'post');
        const m = r.find('OPTIONS', '/o/1');
        assert.equal(m.kind, 'options');
        assert.equal(m.kind === 'options' && m.allow, 'GET, HEAD, OPTIONS, POST');
        assert.equal(kind(r, 'OPTIONS', '/nothing'), 'not-found');
      });

      it('lets an explicit OPTIONS route win', () => {
        const r = make();
        r.add('GET', '/o', 'get');
        r.add('OPTIONS', '/o', 'options');
        expectStore(r, 'OPTIONS', '/o', 'options');
        const m = r.find('DELETE', '/o');
        assert.equal(m.kind === 'method-not-allowed' && m.allow, 'GET, HEAD, OPTIONS');
      });
    });

    describe('trailing slash', () => {
      it('is strict by default', () => {
        const r = make();
        r.add('GET', '/a', 'a');
        r.add('GET', '/b/', 'b');
        assert.equal(kind(r, 'GET', '/a/'), 'not-found');
        assert.equal(kind(r, 'GET', '/b'), 'not-found');
        expectStore(r, 'GET', '/b/', 'b');
      });

      it("'ignore' matches either form", () => {
        const r = make({ trailingSlash: 'ignore' });
        r.add('GET', '/a', 'a');
        r.add('GET', '/b/', 'b');
        r.add('GET', '/u/:id', 'u');
        r.add('GET', '/', 'root');
        expectStore(r, 'GET', '/a/', 'a');
        expectStore(r, 'GET', '/a', 'a');
        expectStore(r, 'GET', '/b', 'b');
        expectStore(r, 'GET', '/u/1/', 'u', { id: '1' });
        expectStore(r, 'GET', '/', 'root');
        assert.equal(kind(r, 'GET', '/a//'), 'not-found');
        throwsCode(() => r.add('GET', '/a/', 'again'), 'RAPID_ERR_ROUTER_CONFLICT');
      });

      it("'redirect' points at the existing form, raw encoding kept", () => {
        const r = make({ trailingSlash: 'redirect' });
        r.add('GET', '/a', 'a');
        r.add('GET', '/d/', 'd');
        r.add('GET', '/caf%C3%A9', 'cafe');
        const a = r.find('GET', '/a/');
        assert.equal(a.kind, 'redirect');
        assert.equal(a.kind === 'redirect' && a.location, '/a');
        const d = r.find('GET', '/d');
        assert.equal(d.kind === 'redirect' && d.location, '/d/');
        const c = r.find('GET', '/caf%c3%a9/');
        assert.equal(c.kind === 'redirect' && c.location, '/caf%c3%a9');
        expectStore(r, 'GET', '/a', 'a');
        assert.equal(kind(r, 'GET', '/zzz/'), 'not-found');
      });

      it("'redirect' never produces a protocol-relative location", () => {
        const r = make({ trailingSlash: 'redirect' });
        r.add('GET', '//evil.com', 'x');
        r.add('GET', '/\\evil.com', 'y');
        expectStore(r, 'GET', '//evil.com', 'x');
        assert.equal(kind(r, 'GET', '//evil.com/'), 'not-found');
        assert.equal(kind(r, 'GET', '/\\evil.com/'), 'not-found');
      });
    });

    describe('case sensitivity', () => {
      it('is case-sensitive by default', () => {
        const r = make();
        r.add('GET', '/About', 'about');
        expectStore(r, 'GET', '/About', 'about');
        assert.equal(kind(r, 'GET', '/about'), 'not-found');
      });

      it('folds ASCII static text when off; parameters keep their case', () => {
        const r = make({ caseSensitive: false });
        r.add('GET', '/About/:Name', 'about');
        r.add('GET', '/img/:n.PNG', 'png');
        r.add('GET', '/x/:a-B-:c', 'x');
        expectStore(r, 'GET', '/ABOUT/Ann', 'about', { Name: 'Ann' });
        expectStore(r, 'GET', '/about/ann', 'about', { Name: 'ann' });
        expectStore(r, 'GET', '/IMG/Logo.png', 'png', { n: 'Logo' });
        expectStore(r, 'GET', '/x/Q-b-R', 'x', { a: 'Q', c: 'R' });
        expectStore(r, 'GET', '/%41bout/z', 'about', { Name: 'z' });
        throwsCode(() => r.add('GET', '/ABOUT/:Name', 'again'), 'RAPID_ERR_ROUTER_CONFLICT');
      });
    });

    describe('percent-encoding', () => {
      it('keeps %2F inside the parameter it was sent in', () => {
        const r = make();
        r.add('GET', '/users/:id', 'user');
        r.add('GET', '/users/:id/posts', 'posts');
        expectStore(r, 'GET', '/users/a%2Fb', 'user', { id: 'a/b' });
        expectStore(r, 'GET', '/users/a%2fb/posts', 'posts', { id: 'a/b' });
      });

      it('does not let %2F create segments for static text', () => {
        const r = make();
        r.add('GET', '/a/b', 'ab');
        r.add('GET', '/x%2Fy', 'encoded');
        assert.equal(kind(r, 'GET', '/a%2Fb'), 'not-found');
        assert.equal(kind(r, 'GET', '/a%2fb'), 'not-found');
        expectStore(r, 'GET', '/x%2fy', 'encoded');
        assert.equal(kind(r, 'GET', '/x/y'), 'not-found');
      });

      it('decodes %25 once', () => {
        const r = make();
        r.add('GET', '/p/:v', 'p');
        r.add('GET', '/100%25', 'pct');
        expectStore(r, 'GET', '/p/100%25', 'p', { v: '100%' });
        expectStore(r, 'GET', '/p/%252F', 'p', { v: '%2F' });
        expectStore(r, 'GET', '/p/%2525', 'p', { v: '%25' });
        expectStore(r, 'GET', '/100%25', 'pct');
      });

      it('decodes UTF-8 and reserved characters in parameters', () => {
        const r = make();
        r.add('GET', '/p/:v', 'p');
        expectStore(r, 'GET', '/p/caf%C3%A9%20%F0%9F%98%80', 'p', { v: 'café 😀' });
        expectStore(r, 'GET', '/p/a%3Fb%23c%26d', 'p', { v: 'a?b#c&d' });
        expectStore(r, 'GET', '/p/a+b', 'p', { v: 'a+b' });
      });

      it('reports malformed escapes and non-UTF-8 bytes as bad-url', () => {
        const r = make();
        r.add('GET', '/*', 'all');
        for (const p of [
          '/%zz',
          '/%4',
          '/%',
          '/a%',
          '/%g0',
          '/%C3', // truncated sequence
          '/%C3x',
          '/%C3%28', // bad continuation
          '/%C0%AF', // overlong "/"
          '/%ED%A0%80', // UTF-16 surrogate
          '/%FF',
          '/%80',
          '/ok/%E2%82', // truncated 3-byte sequence
        ]) {
          assert.equal(kind(r, 'GET', p), 'bad-url', p);
        }
        assert.equal(kind(r, 'GET', '/%E2%82%AC'), 'found');
      });
    });

    describe('mounts', () => {
      it('matches the prefix and below, giving the raw rest', () => {
        const r = make();
        r.mount('/api', 'api');
        r.add('GET', '/api/health', 'health');
        r.add('GET', '/apiary', 'apiary');
        assert.equal(found(r, 'GET', '/api').rest, '/');
        assert.equal(found(r, 'GET', '/api/').rest, '/');
        assert.equal(found(r, 'POST', '/api/v1/x').rest, '/v1/x');
        assert.equal(found(r, 'GET', '/api/a%2Fb/c%20d').rest, '/a%2Fb/c%20d');
        expectStore(r, 'GET', '/api/health', 'health');
        expectStore(r, 'GET', '/apiary', 'apiary');
        assert.equal(kind(r, 'GET', '/apix'), 'not-found');
      });

      it('finds the raw rest after decoded text', () => {
        const r = make();
        r.mount('/caf%C3%A9/', 'cafe');
        const m = found(r, 'GET', '/caf%c3%a9/%41/b%2F');
        assert.equal(m.store, 'cafe');
        assert.equal(m.rest, '/%41/b%2F');
      });

      it('takes parameters in the prefix', () => {
        const r = make();
        r.mount('/t/:tenant', 'tenant');
        const m = found(r, 'DELETE', '/t/acme/users/1');
        assert.deepEqual(m, { store: 'tenant', params: { tenant: 'acme' }, rest: '/users/1' });
      });

      it('mounts at the root', () => {
        const r = make();
        r.mount('/', 'root');
        r.add('GET', '/x', 'x');
        assert.equal(found(r, 'GET', '/a/b').rest, '/a/b');
        assert.equal(found(r, 'GET', '/').rest, '/');
        expectStore(r, 'GET', '/x', 'x');
      });

      it('rejects a second mount at the same prefix and wildcards in prefixes', () => {
        const r = make();
        r.mount('/api', 'a');
        throwsCode(() => r.mount('/api/', 'b'), 'RAPID_ERR_ROUTER_CONFLICT');
        throwsCode(() => r.mount('/x/*', 'c'), 'RAPID_ERR_ROUTER_INVALID_PATH');
      });
    });

    describe('registration errors', () => {
      it('rejects the same method and path twice, whatever the parameter names', () => {
        const r = make();
        r.add('GET', '/u/:id', 'a');
        throwsCode(() => r.add('GET', '/u/:id', 'b'), 'RAPID_ERR_ROUTER_CONFLICT');
        throwsCode(() => r.add('GET', '/u/:name', 'b'), 'RAPID_ERR_ROUTER_CONFLICT');
        r.add('POST', '/u/:name', 'c');
        r.add('ALL', '/u/:id', 'd');
        throwsCode(() => r.add('ALL', '/u/:x', 'e'), 'RAPID_ERR_ROUTER_CONFLICT');
        r.add('GET', '/w/*', 'w');
        throwsCode(() => r.add('GET', '/w/*', 'w2'), 'RAPID_ERR_ROUTER_CONFLICT');
        r.add('GET', '/r/:id(\\d+)', 'r');
        throwsCode(() => r.add('GET', '/r/:n(\\d+)', 'r2'), 'RAPID_ERR_ROUTER_CONFLICT');
        r.add('GET', '/r/:n([0-9]+)', 'r3'); // a different regex is a different route
      });

      it('names both routes in the conflict message', () => {
        const r = make();
        r.add('GET', '/u/:id', 'a');
        assert.throws(
          () => r.add('GET', '/u/:name', 'b'),
          /GET \/u\/:name conflicts with GET \/u\/:id/,
        );
      });

      it('leaves the router unchanged when an add fails', () => {
        const r = make();
        r.add('POST', '/x', 'post');
        throwsCode(() => r.add(['GET', 'POST'], '/x', 'both'), 'RAPID_ERR_ROUTER_CONFLICT');
        assert.equal(kind(r, 'GET', '/x'), 'method-not-allowed');
        assert.equal(r.routes().length, 1);
      });

      it('rejects malformed paths', () => {
        const r = make();
        for (const p of [
          '',
          'users',
          '/files/*/x',
          '/a*b',
          '/:',
          '/:/x',
          '/:(\\d+)',
          '/:id(\\d+',
          '/:id()',
          '/:id([)',
          '/:a/:a',
          '/:a:b',
          '/:a(\\d+):b',
          '/:a*',
          '/a?b',
          '/a#b',
          '/a b',
          '/a\u0000',
          '/100%',
          '/%zz',
          '/%C3',
        ]) {
          throwsCode(() => r.add('GET', p, 'x'), 'RAPID_ERR_ROUTER_INVALID_PATH');
        }
        assert.equal(r.routes().length, 0);
      });

      it('rejects methods that are not tokens', () => {
        const r = make();
        for (const m of ['', 'GE T', 'GET\r\n', 'GÉT']) {
          throwsCode(() => r.add(m, '/x', 'x'), 'RAPID_ERR_ROUTER_INVALID_METHOD');
        }
        throwsCode(() => r.add([], '/x', 'x'), 'RAPID_ERR_ROUTER_INVALID_METHOD');
        throwsCode(() => r.add(['GET', 'GET'], '/x', 'x'), 'RAPID_ERR_ROUTER_INVALID_METHOD');
      });

      it('lists registrations in order', () => {
        const r = make();
        r.add('GET', '/a/:id', 'a');
        r.mount('/m', 'm');
        assert.deepEqual(
          r.routes().map((x) => [x.method, x.path, x.store, [...x.paramNames], x.mount]),
          [
            ['GET', '/a/:id', 'a', ['id'], false],
            ['ALL', '/m', 'm', [], true],
          ],
        );
      });
    });

    describe('scale and robustness', () => {
      it('resolves each of 1,000 mixed static and parametric routes', () => {
        const r = make();
        const cases: [string, string, string, Params][] = [];
        const methods = ['GET', 'POST', 'PUT', 'DELETE'];
        for (let i = 0; i < 1000; i++) {
          const method = methods[i % 4]!;
          const store = `route${i}`;
          switch (i % 8) {
            case 0:
              r.add(method, `/api/v1/resource${i}`, store);
              cases.push([method, `/api/v1/resource${i}`, store, {}]);
              break;
            case 1:
              r.add(method, `/api/v1/resource${i}/:id`, store);
              cases.push([method, `/api/v1/resource${i}/x${i}`, store, { id: `x${i}` }]);
              break;
            case 2:
              r.add(method, `/api/v2/r${i}/:id/sub/:sub`, store);
              cases.push([method, `/api/v2/r${i}/a/sub/b${i}`, store, { id: 'a', sub: `b${i}` }]);
              break;
            case 3:
              r.add(method, `/n/${i}/:id(\\d+)`, store);
              cases.push([method, `/n/${i}/${i * 7}`, store, { id: String(i * 7) }]);
              break;
            case 4:
              r.add(method, `/static/${i}/*`, store);
              cases.push([method, `/static/${i}/a/b.css`, store, { '*': 'a/b.css' }]);
              break;
            case 5:
              r.add(method, `/d/${i}/:from-:to`, store);
              cases.push([method, `/d/${i}/1-2`, store, { from: '1', to: '2' }]);
              break;
            case 6:
              r.add(method, `/users/${i}`, store);
              cases.push([method, `/users/${i}`, store, {}]);
              break;
            default:
              r.add(method, `/users/${i}/:name/profile`, store);
              cases.push([method, `/users/${i}/n%20${i}/profile`, store, { name: `n ${i}` }]);
          }
        }
        r.add('GET', '/users/:id', 'user-param');
        assert.equal(r.routes().length, 1001);
        for (const [method, path, store, params] of cases)
          expectStore(r, method, path, store, params);
        // Static routes of other methods fall through to the GET parameter route.
        expectStore(r, 'GET', '/users/6', 'user-param', { id: '6' });
        expectStore(r, 'PUT', '/users/14', 'route14');
        expectStore(r, 'GET', '/users/14', 'user-param', { id: '14' });
        assert.equal(kind(r, 'GET', '/api/v1/resource8/x/y'), 'not-found');
        assert.equal(kind(r, 'DELETE', '/api/v1/resource0'), 'method-not-allowed');
      });

      it('never throws on arbitrary input', () => {
        const r = make({ caseSensitive: false, trailingSlash: 'redirect' });
        r.add('GET', '/a/:b/c', 'x');
        r.add('GET', '/a/:n(\\d+)', 'n');
        r.add('GET', '/f/:x.:y', 'xy');
        r.add('GET', '/w/*', 'w');
        r.mount('/m/:p', 'm');
        const rand = prng(7);
        const alphabet = [
          '/',
          '/',
          'a',
          'b',
          'c',
          'f',
          'm',
          'w',
          '.',
          '%',
          '2',
          'F',
          'C',
          '3',
          'A',
          ':',
          '*',
          'é',
          '\u0000',
          '?',
          '1',
        ];
        const kinds = new Set([
          'found',
          'not-found',
          'method-not-allowed',
          'options',
          'redirect',
          'bad-url',
        ]);
        for (let i = 0; i < 5000; i++) {
          let p = '';
          const n = Math.floor(rand() * 16);
          for (let j = 0; j < n; j++) p += alphabet[Math.floor(rand() * alphabet.length)];
          for (const method of ['GET', 'OPTIONS', 'POST']) {
            const m = r.find(method, p);
            assert.ok(kinds.has(m.kind), p);
            r.allowedMethods(p);
          }
        }
      });

      it('handles long paths and many segments without blowing the stack', () => {
        const r = make();
        r.add('GET', '/:a/*', 'w');
        const long = '/x'.repeat(4000);
        expectStore(r, 'GET', long, 'w', { a: 'x', '*': long.slice(3) });
        const many = make();
        many.add('GET', '/r/:a-:b-:c-:d', 'many');
        assert.equal(kind(many, 'GET', '/r/' + 'a-'.repeat(3000)), 'not-found');
        const ok = '/r/' + 'a-'.repeat(500) + 'a';
        expectStore(many, 'GET', ok, 'many', { a: 'a', b: 'a', c: 'a', d: ok.slice(9) });
      });
    });
  });
}
