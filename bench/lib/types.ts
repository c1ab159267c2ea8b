/**
 * The shape of a results file (bench/results/<date>-<label>.json). bench/run.ts writes it,
 * bench/chart.ts and the Markdown report read it; keep it append-only so old files still load.
 */
import type { Machine } from './machine.js';

export interface Spread {
  median: number;
  min: number;
  max: number;
  /** Every measured repetition, in run order. */
  runs: number[];
}

export interface ResultRow {
  server: string;
  scenario: string;
  reqPerSec: Spread;
  /** p99 latency in ms as wrk reports it (coordinated-omission corrected); null when wrk gave none. */
  p99Ms: Spread | null;
  p50Ms: Spread;
  /** CPU used by the server's processes during the measured runs, % of one core (median). */
  serverCpu: number;
  /** CPU used by wrk during the measured runs, % of one core (median). */
  clientCpu: number;
  /** CPU used by other processes on the machine during the measured runs, % of one core (median). */
  foreignCpu?: number;
  /** Bytes read per response (head + body), a check that peers send comparable responses. */
  bytesPerResponse: number;
  /** Sum over the measured runs of wrk's socket errors and non-2xx/3xx responses. */
  errors: number;
  /**
   * median req/s over the baseline's median in the same scenario, same run (null without it). The
   * baseline is node:http unless the scenario names another (ScenarioInfo.baseline); the name is
   * kept from the time it always was node:http.
   */
  ratioToNodeHttp: number | null;
}

export interface Skipped {
  server: string;
  scenario: string | null;
  reason: string;
}

export interface ServerInfo {
  name: string;
  label: string;
  version: string;
  /** How it is configured for fairness (logging, workers, caching...). */
  notes: string;
  /** The command that starts it (one example; the port differs per instance). */
  command: string;
}

export interface ScenarioInfo {
  name: string;
  label: string;
  description: string;
  /** The wrk command line (server part elided as {url}). */
  command: string;
  /** The server its ratios are taken against when it is not node-http. */
  baseline?: string;
}

export interface Results {
  label: string;
  /** ISO timestamp of the start of the run. */
  date: string;
  machine: Machine;
  versions: Record<string, string>;
  config: {
    duration: number;
    reps: number;
    warmup: number;
    connections: number;
    threads: number;
    pipelineDepth: number;
    serverCpu: string;
    clientCpu: string;
    order: 'interleaved' | 'sequential';
  };
  servers: ServerInfo[];
  scenarios: ScenarioInfo[];
  results: ResultRow[];
  skipped: Skipped[];
  notes: string[];
}
