/** Config files: schema, loaders, builder (docs/config.md). */
export {
  ConfigSchema,
  configJsonSchema,
  defineConfig,
  type Config,
  type ConfigInput,
  type SiteConfig,
  type ListenerConfig,
  type HandlerConfig,
  type MountConfig,
  type CompressionConfig,
} from './schema.js';
export {
  loadConfig,
  loadConfigValue,
  formatOf,
  type LoadedConfig,
  type LoadOptions,
} from './load.js';
export { ConfigError, formatIssue, type ConfigIssue } from './issues.js';
export {
  compileSites,
  startServers,
  type BuildOptions,
  type CompiledSites,
  type ListenerInfo,
  type RunningConfig,
  type SiteSummary,
} from './build.js';
export { startFromConfig, type ConfigServer } from './start.js';
export {
  factories,
  type FeatureFactories,
  type FeatureHandler,
  type FactoryContext,
} from './features.js';
