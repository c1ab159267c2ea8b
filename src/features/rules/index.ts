/** Response header rules, redirects and internal rewrites (docs/rules.md). */
export {
  createHeaderRules,
  type HeaderRule,
  type HeaderRules,
  type HeaderRulesOptions,
} from './headers.js';
export { createRedirects, type RedirectRule, type Redirects } from './redirects.js';
export {
  createRewrites,
  rewriteTarget,
  MAX_REWRITES,
  type RewriteRule,
  type Rewrites,
} from './rewrites.js';
