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
