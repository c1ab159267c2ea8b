export {
  runPrimary,
  resolveWorkers,
  defaultDistribution,
  type ClusterOptions,
  type Distribution,
  type Primary,
} from './primary.js';
export { runWorker, type WorkerContext, type WorkerHandle, type WorkerMain } from './worker.js';
export { nofileLimit, nofileWarning, parseLimits, LOW_NOFILE } from './limits.js';
export type { NofileLimit } from './protocol.js';
/** Whether this Node can bind with SO_REUSEPORT (for the CLI, which sits above net). */
export { hasReusePort } from '../net/listener.js';
