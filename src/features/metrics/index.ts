export {
  Metrics,
  LATENCY_BUCKETS,
  sumSnapshots,
  totalRequests,
  type ClassCounts,
  type MetricsOptions,
  type MetricsSnapshot,
  type MetricsSources,
} from './metrics.js';
export {
  addressMatcher,
  createStatusHandler,
  localView,
  renderHtml,
  renderPrometheus,
  type StatusHandler,
  type StatusOptions,
  type StatusView,
  type WorkerView,
} from './status.js';
