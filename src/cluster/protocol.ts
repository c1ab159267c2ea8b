/** The IPC messages between the primary and its workers (all carry `rapid`, so others pass by). */
import type { MetricsSnapshot, StatusView } from '../server/observe.js';

export type ToWorker =
  | { rapid: 'reload' }
  | { rapid: 'shutdown'; timeoutMs: number; idleGraceMs: number }
  | { rapid: 'reopen' }
  | { rapid: 'collect'; id: number }
  | { rapid: 'view'; id: number; view: StatusView };

export type ToPrimary =
  | { rapid: 'ready'; nofile: NofileLimit | null; ports: number[] }
  | { rapid: 'fatal'; message: string }
  | { rapid: 'reloaded'; error: string | null }
  | { rapid: 'collected'; id: number; snapshot: MetricsSnapshot }
  | { rapid: 'view?'; id: number };

export interface NofileLimit {
  soft: number | 'unlimited';
  hard: number | 'unlimited';
}

export function isRapidMessage<T extends { rapid: string }>(m: unknown): m is T {
  return (
    typeof m === 'object' && m !== null && typeof (m as { rapid?: unknown }).rapid === 'string'
  );
}

/** Env var names the primary sets for each worker. */
export const ENV_WORKER_ID = 'RAPID_WORKER_ID';
export const ENV_REUSE_PORT = 'RAPID_REUSE_PORT';
