/**
 * startFromConfig(file): load a config file and run it, with reload() re-reading the file. The
 * CLI runs this; a worker process (src/cluster) can call it the same way.
 */
import {
  startServers,
  type BuildOptions,
  type ListenerInfo,
  type RunningConfig,
  type SiteSummary,
} from './build.js';
import { loadConfig, type LoadedConfig } from './load.js';
import type { Config } from './schema.js';

export interface ConfigServer {
  readonly file: string;
  readonly config: Config;
  readonly listeners: readonly ListenerInfo[];
  readonly sites: readonly SiteSummary[];
  /**
   * Re-read the file and apply it. A bad file (or a part that cannot be built) rejects with a
   * ConfigError and the old config keeps serving; a good one serves new requests, without
   * dropping connections or closing listeners whose address did not change.
   */
  reload(): Promise<LoadedConfig>;
  /** Graceful stop (default deadline: the config's shutdownTimeout). */
  close(timeoutMs?: number, options?: { idleGraceMs?: number }): Promise<void>;
  /** Reopen the access and error log files (SIGUSR1 after logrotate). */
  reopenLogs(): Promise<void>;
}

export async function startFromConfig(
  file: string,
  options: BuildOptions = {},
): Promise<ConfigServer> {
  const loaded = await loadConfig(file, { features: options.features });
  const running: RunningConfig = await startServers(loaded, options);
  return {
    file: loaded.file,
    get config() {
      return running.config;
    },
    get listeners() {
      return running.listeners;
    },
    get sites() {
      return running.sites;
    },
    async reload() {
      const next = await loadConfig(loaded.file, { features: options.features, fresh: true });
      await running.reload(next);
      return next;
    },
    close: (timeoutMs, o) => running.close(timeoutMs, o),
    reopenLogs: () => running.reopenLogs(),
  };
}
