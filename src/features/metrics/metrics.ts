/**
 * Per-process counters fed by the engine's ResponseObserver: requests by site and status class,
 * a latency histogram, bytes out, keep-alive reuse; gauges (open connections, cache hits and
 * misses) are read from callbacks when a snapshot is taken. A snapshot is plain JSON, so the
 * cluster primary can collect one from each worker over IPC and add them up (sumSnapshots).
 */
import type { ResponseObserver } from '../../core/types.js';
import { siteName } from '../log/site.js';

/** Upper bounds of the latency histogram, in seconds (the +Inf bucket is implicit). */
export const LATENCY_BUCKETS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];
const BUCKET_MS = LATENCY_BUCKETS.map((s) => s * 1000);

/** Requests per status class: index 0 = 1xx ... 4 = 5xx. */
export type ClassCounts = [number, number, number, number, number];

export interface MetricsSnapshot {
  pid: number;
  /** Seconds since this process started serving. */
  uptime: number;
  requests: Record<string, ClassCounts>;
  /** Per bucket (not cumulative), one more than LATENCY_BUCKETS for +Inf. */
  latencyBuckets: number[];
  latencySum: number;
  latencyCount: number;
  bytesOut: number;
  /** Requests that arrived on a connection that had carried one before. */
  reusedRequests: number;
  openConnections: number;
  cacheHits: number;
  cacheMisses: number;
}

export interface MetricsOptions {
  /** At most this many distinct sites are counted (default 64); the rest count as "_other". */
  maxSites?: number;
}

/** Where a gauge comes from; set after the server exists (serve() sets openConnections). */
export interface MetricsSources {
  openConnections?: () => number;
  cache?: () => { hits: number; misses: number };
}

export class Metrics {
  readonly sources: MetricsSources = {};
  readonly observe: ResponseObserver;
  private readonly requests = new Map<string, ClassCounts>();
  private readonly buckets = new Array<number>(LATENCY_BUCKETS.length + 1).fill(0);
  private latencySum = 0;
  private latencyCount = 0;
  private bytesOut = 0;
  private reused = 0;
  private readonly started = Date.now();
  private readonly extraSources: MetricsSources[] = [];

  constructor(options: MetricsOptions = {}) {
    const maxSites = options.maxSites ?? 64;
    this.observe = (req, status, bytes, _headBytes, startMs, _remote, seq) => {
      const site = siteName(req) || '_';
      let counts = this.requests.get(site);
      if (counts === undefined) {
        const key = this.requests.size < maxSites ? site : '_other';
        counts = this.requests.get(key);
        if (counts === undefined) {
          counts = [0, 0, 0, 0, 0];
          this.requests.set(key, counts);
        }
      }
      const cls = ((status / 100) | 0) - 1;
      counts[cls >= 0 && cls < 5 ? cls : 4]++;
      this.bytesOut += bytes;
      if (seq > 1) this.reused++;
      if (startMs > 0) {
        const ms = performance.now() - startMs;
        let i = 0;
        while (i < BUCKET_MS.length && ms > (BUCKET_MS[i] as number)) i++;
        this.buckets[i]++;
        this.latencySum += ms / 1000;
        this.latencyCount++;
      }
    };
  }

  /** Another source of gauges to add (each server of a worker adds its own). */
  addSources(s: MetricsSources): () => void {
    this.extraSources.push(s);
    return () => {
      const i = this.extraSources.indexOf(s);
      if (i >= 0) this.extraSources.splice(i, 1);
    };
  }

  snapshot(): MetricsSnapshot {
    const requests: Record<string, ClassCounts> = {};
    for (const [k, v] of this.requests) requests[k] = [...v];
    let open = 0;
    let hits = 0;
    let misses = 0;
    for (const s of [this.sources, ...this.extraSources]) {
      if (s.openConnections !== undefined) open += s.openConnections();
      if (s.cache !== undefined) {
        const c = s.cache();
        hits += c.hits;
        misses += c.misses;
      }
    }
    return {
      pid: process.pid,
      uptime: (Date.now() - this.started) / 1000,
      requests,
      latencyBuckets: [...this.buckets],
      latencySum: this.latencySum,
      latencyCount: this.latencyCount,
      bytesOut: this.bytesOut,
      reusedRequests: this.reused,
      openConnections: open,
      cacheHits: hits,
      cacheMisses: misses,
    };
  }
}

/** Requests counted in a snapshot, over every site and class. */
export function totalRequests(s: MetricsSnapshot): number {
  let n = 0;
  for (const c of Object.values(s.requests)) for (const x of c) n += x;
  return n;
}

/** The sum of several snapshots (pid and uptime of the first; uptime is the longest). */
export function sumSnapshots(list: readonly MetricsSnapshot[]): MetricsSnapshot {
  const out: MetricsSnapshot = {
    pid: list[0]?.pid ?? process.pid,
    uptime: 0,
    requests: {},
    latencyBuckets: new Array<number>(LATENCY_BUCKETS.length + 1).fill(0),
    latencySum: 0,
    latencyCount: 0,
    bytesOut: 0,
    reusedRequests: 0,
    openConnections: 0,
    cacheHits: 0,
    cacheMisses: 0,
  };
  for (const s of list) {
    out.uptime = Math.max(out.uptime, s.uptime);
    for (const [site, c] of Object.entries(s.requests)) {
      const into = (out.requests[site] ??= [0, 0, 0, 0, 0]);
      for (let i = 0; i < 5; i++) into[i] = (into[i] as number) + (c[i] ?? 0);
    }
    s.latencyBuckets.forEach((n, i) => (out.latencyBuckets[i] = (out.latencyBuckets[i] ?? 0) + n));
    out.latencySum += s.latencySum;
    out.latencyCount += s.latencyCount;
    out.bytesOut += s.bytesOut;
    out.reusedRequests += s.reusedRequests;
    out.openConnections += s.openConnections;
    out.cacheHits += s.cacheHits;
    out.cacheMisses += s.cacheMisses;
  }
  return out;
}
