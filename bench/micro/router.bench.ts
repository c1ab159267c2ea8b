/** Route lookup on a realistic table (a REST API's shapes: static, parameters, wildcard). */
import { createRouter } from '../../src/router/index.js';
import { Suite } from './harness.js';

const router = createRouter<number>();
const routes = [
  '/',
  '/health',
  '/plaintext',
  '/json',
  '/about',
  '/docs/*',
  '/static/*',
  '/users',
  '/users/:id',
  '/users/:id/posts',
  '/users/:id/posts/:postId',
  '/users/:id/posts/:postId/comments',
  '/users/:id/followers',
  '/users/:id/following',
  '/orgs/:org',
  '/orgs/:org/repos',
  '/orgs/:org/members/:user',
  '/repos/:owner/:repo',
  '/repos/:owner/:repo/issues',
  '/repos/:owner/:repo/issues/:number',
  '/repos/:owner/:repo/issues/:number/comments',
  '/repos/:owner/:repo/pulls',
  '/repos/:owner/:repo/pulls/:number',
  '/repos/:owner/:repo/contents/*',
  '/search/repositories',
  '/search/issues',
  '/search/users',
];
routes.forEach((path, i) => router.add('GET', path, i));
router.add('POST', '/users', 100);
router.add('DELETE', '/users/:id', 101);

function expectFound(path: string): void {
  const m = router.find('GET', path);
  if (m.kind !== 'found') throw new Error(`router bench: ${path} -> ${m.kind}`);
}
for (const p of ['/plaintext', '/users/42', '/repos/nodejs/node/issues/123', '/static/a/b.css'])
  expectFound(p);

export const suite = new Suite('router')
  .add(`static route (${router.name})`, () => router.find('GET', '/plaintext'))
  .add('one parameter: /users/42', () => router.find('GET', '/users/42'))
  .add('three parameters: /repos/nodejs/node/issues/123', () =>
    router.find('GET', '/repos/nodejs/node/issues/123'),
  )
  .add('wildcard: /static/css/site/main.css', () => router.find('GET', '/static/css/site/main.css'))
  .add('miss: /nothing/here', () => router.find('GET', '/nothing/here'))
  .add('wrong method (405): PUT /users', () => router.find('PUT', '/users'));
