/** Access rules: IP allow/deny lists and HTTP Basic authentication (docs/access.md). */
export {
  createAccessControl,
  remoteUser,
  type AccessControl,
  type AccessNext,
  type AccessOptions,
  type AccessRule,
  type AuthOptions,
} from './access.js';
export { IpMatcher, parseAddress, type ParsedAddress } from './ip.js';
export { parseHtpasswd, type HashKind } from './htpasswd.js';
