/**
 * The error log: levelled, structured (one JSON object a line), written by pino through its
 * asynchronous sonic-boom destination. `reopen()` reopens the file (SIGUSR1); `close()` flushes.
 */
import { resolve } from 'node:path';
import pino, { type Logger } from 'pino';
import { E, RapidError } from '../../core/errors.js';
import { checkLogPath } from './writer.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

export interface ErrorLogOptions {
  /** A file (resolved against baseDir), 'stderr' (default) or 'stdout'. */
  path?: string;
  /** The least severe level written (default 'info'). */
  level?: LogLevel;
}

export interface ErrorLog {
  readonly logger: Logger;
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  reopen(): void;
  /** Flush and close the file. */
  close(): void;
}

export function createErrorLog(
  options: ErrorLogOptions = {},
  {
    baseDir = process.cwd(),
    bindings,
  }: { baseDir?: string; bindings?: Record<string, unknown> } = {},
): ErrorLog {
  const level = options.level ?? 'info';
  if (!LEVELS.includes(level)) {
    throw new RapidError(
      E.LOG_INVALID_OPTION,
      `errorLog.level must be one of ${LEVELS.join(', ')}, got ${JSON.stringify(level)}`,
    );
  }
  const path = options.path ?? 'stderr';
  if (typeof path !== 'string' || path === '') {
    throw new RapidError(
      E.LOG_INVALID_OPTION,
      'errorLog.path must be a file, "stderr" or "stdout"',
    );
  }
  let dest: pino.DestinationStream & {
    reopen?: () => void;
    flushSync?: () => void;
    end?: () => void;
  };
  const isFile = path !== 'stderr' && path !== 'stdout';
  if (isFile) {
    const file = resolve(baseDir, path);
    checkLogPath(file);
    dest = pino.destination({ dest: file, sync: false, mkdir: true });
  } else {
    // Standard streams stay synchronous: a crash message must not be lost with the process.
    dest = pino.destination({ dest: path === 'stderr' ? 2 : 1, sync: true });
  }
  const logger = pino(
    { level, base: { pid: process.pid, ...bindings }, timestamp: pino.stdTimeFunctions.isoTime },
    dest,
  );
  const at =
    (l: LogLevel) =>
    (msg: string, fields?: Record<string, unknown>): void => {
      if (fields === undefined) logger[l](msg);
      else logger[l](fields, msg);
    };
  let closed = false;
  return {
    logger,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    reopen: () => {
      if (isFile && !closed) dest.reopen?.();
    },
    close: () => {
      if (closed) return;
      closed = true;
      try {
        dest.flushSync?.();
      } catch {
        // not yet open, nothing to flush
      }
      if (isFile) dest.end?.();
    },
  };
}
