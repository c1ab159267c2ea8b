/**
 * The router layer: path routing (a radix tree behind the `Router<T>` contract) and virtual-host
 * selection. Imports only src/core and src/util.
 */
export * from './types.js';
export { RadixRouter, createRouter } from './radix.js';
export { matchForm, finishParam, parsePattern, type Token } from './path.js';
export { HostMatcher, parseHost, type HostInfo } from './vhost.js';
