/**
 * Config errors: each issue names the file, line and column, the setting's path
 * (`sites[0].keepAlive.timeout`) and what was expected. One ConfigError carries every issue
 * found in a file; its message is the issues, one a line.
 */
import { E, RapidError, type ErrorSpec } from '../core/errors.js';
import type { Pos } from './tree.js';

export interface ConfigIssue {
  /** Catalog entry (CONFIG_*). */
  readonly spec: ErrorSpec;
  readonly file: string;
  readonly pos: Pos | null;
  /** The setting, e.g. "sites[0].keepAlive.timeout" ("" for the file as a whole). */
  readonly path: string;
  readonly message: string;
}

/** "rapid.xml:12:5: sites[0].keepAlive.timeout: expected ..." */
export function formatIssue(issue: ConfigIssue): string {
  const where =
    issue.pos === null ? issue.file : `${issue.file}:${issue.pos.line}:${issue.pos.column}`;
  return issue.path === ''
    ? `${where}: ${issue.message}`
    : `${where}: ${issue.path}: ${issue.message}`;
}

export class ConfigError extends RapidError {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[], options?: { cause?: unknown }) {
    const first = issues[0]!;
    super(first.spec, issues.map(formatIssue).join('\n'), options);
    this.name = 'ConfigError';
    this.issues = issues;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return (
      RapidError[Symbol.hasInstance](value) && Array.isArray((value as { issues?: unknown }).issues)
    );
  }

  /** The issues without the catalog prefix, one a line (what the CLI prints). */
  get detail(): string {
    return this.issues.map(formatIssue).join('\n');
  }
}

export function configError(
  spec: ErrorSpec,
  file: string,
  pos: Pos | null,
  path: string,
  message: string,
  cause?: unknown,
): ConfigError {
  return new ConfigError(
    [{ spec, file, pos, path, message }],
    cause === undefined ? undefined : { cause },
  );
}

/** A file-level problem (missing file, syntax). */
export function fileError(
  spec: ErrorSpec,
  file: string,
  pos: Pos | null,
  message: string,
): ConfigError {
  return configError(spec, file, pos, '', message);
}

export { E };

/** Levenshtein distance, case-insensitive. */
export function distance(a: string, b: string): number {
  a = a.toLowerCase();
  b = b.toLowerCase();
  if (a === b) return 0;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(
        prev[j]! + 1,
        cur[j - 1]! + 1,
        prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** The closest candidate to a mistyped name, when close enough to be a likely typo. */
export function suggest(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = distance(name, c);
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  if (best === undefined) return undefined;
  const limit = Math.max(1, Math.floor(Math.max(name.length, best.length) / 3));
  return bestD <= limit ? best : undefined;
}
