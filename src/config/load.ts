/**
 * loadConfig(file): any config form -> the one model. Reads the file by its extension into the
 * common tree (XML, YAML, JSON) or imports it (a defineConfig() module), checks the tree against
 * the schema, fills in the defaults, resolves site inheritance and relative paths, and checks
 * what the schema cannot say (roots exist, listeners are distinct, one default site, valid host
 * names). Every problem is a ConfigError (RAPID_ERR_CONFIG_*) naming file:line:column and the
 * setting.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { E, RapidError } from '../core/errors.js';
import { HostMatcher } from '../router/vhost.js';
import { availableFeatures, type FeatureFactories } from './features.js';
import { ConfigError, fileError, type ConfigIssue } from './issues.js';
import {
  ConfigSchema,
  type Config,
  type ConfigInput,
  type SiteConfig,
  type ValidatedConfig,
} from './schema.js';
import { jsonTree, SyntaxProblem, yamlTree } from './text-forms.js';
import { treeFromValue, type Node, type Pos } from './tree.js';
import { check, INVALID, type ValidateContext } from './validate.js';
import { XmlSyntaxError, xmlTree } from './xml.js';

export interface LoadedConfig {
  readonly config: Config;
  /** The file it came from (absolute), or a label for configs given as values. */
  readonly file: string;
  /** Where each setting was written (null position: given, but in a module without positions). */
  readonly positions: ReadonlyMap<string, Pos | null>;
}

export interface LoadOptions {
  /** The factories this build has (default: features.ts's table); decides CONFIG_NOT_AVAILABLE. */
  features?: FeatureFactories;
  /** Re-import a module config even if it was imported before (reload). */
  fresh?: boolean;
}

export type ConfigFormat = 'xml' | 'yaml' | 'json' | 'module';

export function formatOf(file: string): ConfigFormat | null {
  switch (extname(file).toLowerCase()) {
    case '.xml':
      return 'xml';
    case '.yaml':
    case '.yml':
      return 'yaml';
    case '.json':
    case '.jsonc':
      return 'json';
    case '.js':
    case '.mjs':
    case '.cjs':
    case '.ts':
    case '.mts':
    case '.cts':
      return 'module';
    default:
      return null;
  }
}

let importCounter = 0;

type TsImport = (specifier: string, parent: string) => Promise<Record<string, unknown>>;

/** Import a JS or TS module; TS through Node's own type stripping or, on older Node, tsx. */
export async function importModule(path: string, fresh: boolean): Promise<Record<string, unknown>> {
  const url = pathToFileURL(path).href + (fresh ? `?rapid-load=${++importCounter}` : '');
  const isTs = /\.[cm]?ts$/i.test(path);
  const strips = (process.features as { typescript?: unknown }).typescript;
  if (isTs && (strips === undefined || strips === false)) {
    let tsImport: TsImport;
    try {
      const spec = 'tsx/esm/api';
      tsImport = ((await import(spec)) as { tsImport: TsImport }).tsImport;
    } catch {
      throw new Error(
        'a .ts file needs Node.js 22.18 or newer, or the tsx package (npm install tsx); or write it as .js',
      );
    }
    const ns = await tsImport(url, import.meta.url);
    // A .ts file outside an ESM package is compiled as CommonJS: its exports are under default.
    const inner = ns.default as Record<string, unknown> | undefined;
    if (
      inner !== null &&
      typeof inner === 'object' &&
      ('__esModule' in inner || (Object.keys(ns).length === 1 && 'default' in inner))
    ) {
      return inner;
    }
    return ns;
  }
  return (await import(url)) as Record<string, unknown>;
}

/** Issues in the order of the file (those without a position last, as found). */
function sortIssues(issues: ConfigIssue[]): ConfigIssue[] {
  return issues
    .map((issue, i) => ({ issue, i }))
    .sort((a, b) => {
      const pa = a.issue.pos;
      const pb = b.issue.pos;
      if (pa === null || pb === null) return pa === pb ? a.i - b.i : pa === null ? 1 : -1;
      return pa.line - pb.line || pa.column - pb.column || a.i - b.i;
    })
    .map((x) => x.issue);
}

function fail(issues: ConfigIssue[]): never {
  throw new ConfigError(issues);
}

/** Read a file into the tree. */
async function readTree(file: string, options: LoadOptions, issues: ConfigIssue[]): Promise<Node> {
  const format = formatOf(file);
  if (format === null)
    throw fileError(
      E.CONFIG_UNSUPPORTED_FORMAT,
      file,
      null,
      `unknown config file type "${extname(file) || file}" (use .xml, .yaml, .yml, .json, .js, .mjs or .ts)`,
    );
  if (format === 'module') {
    if (!existsSync(file)) throw fileError(E.CONFIG_FILE_NOT_FOUND, file, null, 'file not found');
    let value: unknown;
    try {
      const ns = await importModule(file, options.fresh === true);
      value = ns.default;
      if (typeof value === 'function') value = await (value as () => unknown)();
    } catch (err) {
      throw new ConfigError(
        [
          {
            spec: E.CONFIG_MODULE_FAILED,
            file,
            pos: null,
            path: '',
            message: `cannot load the module: ${(err as Error)?.message ?? String(err)}`,
          },
        ],
        { cause: err },
      );
    }
    if (value === undefined)
      throw fileError(
        E.CONFIG_MODULE_FAILED,
        file,
        null,
        'the module has no default export (export default defineConfig({...}))',
      );
    return treeFromValue(value);
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw fileError(
      E.CONFIG_FILE_NOT_FOUND,
      file,
      null,
      code === 'ENOENT' ? 'file not found' : `cannot read the file (${code ?? String(err)})`,
    );
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  try {
    if (format === 'xml') return xmlTree(text, file, ConfigSchema, issues);
    if (format === 'yaml') return yamlTree(text);
    return jsonTree(text, file, issues);
  } catch (err) {
    if (err instanceof XmlSyntaxError || err instanceof SyntaxProblem) {
      const prefix = err instanceof XmlSyntaxError ? 'invalid XML: ' : '';
      throw fileError(E.CONFIG_SYNTAX, file, err.pos, `${prefix}${err.message}`);
    }
    throw err;
  }
}

/** Load and check a config file. */
export async function loadConfig(file: string, options: LoadOptions = {}): Promise<LoadedConfig> {
  const abs = resolve(file);
  const issues: ConfigIssue[] = [];
  const tree = await readTree(abs, options, issues);
  return finish(tree, abs, dirname(abs), options, issues);
}

/** Check a config given as a value (what defineConfig() returns), e.g. for tests and embedding. */
export function loadConfigValue(
  value: ConfigInput,
  options: LoadOptions & { file?: string; baseDir?: string } = {},
): LoadedConfig {
  return finish(
    treeFromValue(value),
    options.file ?? '<config>',
    resolve(options.baseDir ?? process.cwd()),
    options,
    [],
  );
}

function finish(
  tree: Node,
  file: string,
  fileDir: string,
  options: LoadOptions,
  issues: ConfigIssue[],
): LoadedConfig {
  const available = availableFeatures(options.features);
  const ctx: ValidateContext = { file, available, issues, positions: new Map() };
  const value = check(ConfigSchema, tree, '', ctx);
  if (issues.length > 0 || value === INVALID) fail(sortIssues(issues));
  const raw = value as ValidatedConfig;
  const baseDir = resolve(fileDir, raw.baseDir ?? '.');
  const config = resolveModel(raw, baseDir);
  const loaded: LoadedConfig = { config, file, positions: ctx.positions };
  semanticChecks(loaded);
  return loaded;
}

function abs(baseDir: string, p: string): string {
  return isAbsolute(p) ? p : resolve(baseDir, p);
}

/** Site inheritance (index, mimeTypes, compression) and absolute paths. */
function resolveModel(raw: ValidatedConfig, baseDir: string): Config {
  const sites: SiteConfig[] = raw.sites.map((s) => ({
    ...s,
    root: s.root === undefined ? undefined : abs(baseDir, s.root),
    index: s.index ?? raw.index,
    mimeTypes: { ...raw.mimeTypes, ...s.mimeTypes },
    compression: { ...raw.compression, ...s.compression },
    mounts: s.mounts.map((m) => ({ ...m, root: abs(baseDir, m.root) })),
    handlers: s.handlers.map((h) => {
      if (h.type === 'module') return { ...h, module: abs(baseDir, h.module) };
      if ('root' in h && h.root !== undefined) return { ...h, root: abs(baseDir, h.root) };
      return h;
    }),
  }));
  const listeners = raw.listeners.map((l) =>
    l.socket === undefined ? l : { ...l, socket: abs(baseDir, l.socket) },
  );
  return { ...raw, baseDir, listeners, sites } as Config;
}

/** A ConfigError located at a setting, for problems found after the schema check. */
export function settingError(
  loaded: LoadedConfig,
  path: string,
  message: string,
  spec = E.CONFIG_INVALID_VALUE,
  cause?: unknown,
): ConfigError {
  let pos: Pos | null = null;
  // The setting itself, or the closest enclosing one that has a position.
  for (let p = path; p !== ''; p = p.replace(/(\.[^.[\]]+|\[[^\]]*\])$/, '')) {
    const found = loaded.positions.get(p);
    if (found != null) {
      pos = found;
      break;
    }
    if (!/(\.[^.[\]]+|\[[^\]]*\])$/.test(p)) break;
  }
  return new ConfigError(
    [{ spec, file: loaded.file, pos, path, message }],
    cause === undefined ? undefined : { cause },
  );
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function semanticChecks(loaded: LoadedConfig): void {
  const { config } = loaded;
  const problems: ConfigError[] = [];
  const given = (p: string): boolean => loaded.positions.has(p);
  const seen = new Map<string, number>();
  config.listeners.forEach((l, i) => {
    const at = `listeners[${i}]`;
    if (l.socket !== undefined && (given(`${at}.port`) || given(`${at}.host`))) {
      problems.push(
        settingError(
          loaded,
          `${at}.socket`,
          'a listener has either a socket or a host and port, not both',
        ),
      );
    }
    const key = l.socket !== undefined ? `unix:${l.socket}` : `${l.host}:${l.port}`;
    const before = seen.get(key);
    if (before !== undefined && !(l.socket === undefined && l.port === 0)) {
      problems.push(
        settingError(loaded, at, `listens on the same address as listeners[${before}] (${key})`),
      );
    }
    seen.set(key, i);
  });
  const hosts = new HostMatcher<number>();
  let defaults = 0;
  config.sites.forEach((s, i) => {
    const at = `sites[${i}]`;
    try {
      hosts.add([s.name], i);
    } catch (err) {
      problems.push(settingError(loaded, `${at}.name`, (err as Error).message));
    }
    s.aliases.forEach((a, j) => {
      try {
        hosts.add([a], i);
      } catch (err) {
        problems.push(settingError(loaded, `${at}.aliases[${j}]`, (err as Error).message));
      }
    });
    if (s.default && ++defaults > 1)
      problems.push(settingError(loaded, `${at}.default`, 'only one site can be the default'));
    if (s.root !== undefined && !isDir(s.root))
      problems.push(settingError(loaded, `${at}.root`, `directory not found: ${s.root}`));
    s.mounts.forEach((m, j) => {
      if (!m.path.startsWith('/'))
        problems.push(
          settingError(
            loaded,
            `${at}.mounts[${j}].path`,
            `a path must start with "/", got ${JSON.stringify(m.path)}`,
          ),
        );
      if (!isDir(m.root))
        problems.push(
          settingError(loaded, `${at}.mounts[${j}].root`, `directory not found: ${m.root}`),
        );
    });
    s.handlers.forEach((h, j) => {
      const hp = `${at}.handlers[${j}]`;
      if (h.path !== undefined && !/^[/*?]/.test(h.path)) {
        problems.push(
          settingError(
            loaded,
            `${hp}.path`,
            `expected a path starting with "/" or a glob such as "*.php", got ${JSON.stringify(h.path)}`,
          ),
        );
      }
      if (h.type === 'static' && !isDir(h.root))
        problems.push(settingError(loaded, `${hp}.root`, `directory not found: ${h.root}`));
      if (h.type === 'module' && !existsSync(h.module))
        problems.push(settingError(loaded, `${hp}.module`, `module not found: ${h.module}`));
      if (
        (h.type === 'fastcgi' || h.type === 'cgi') &&
        h.root === undefined &&
        s.root === undefined
      ) {
        problems.push(
          settingError(
            loaded,
            `${hp}.root`,
            `a ${h.type} handler needs a root (its own or the site's)`,
            E.CONFIG_MISSING_SETTING,
          ),
        );
      }
    });
  });
  if (problems.length > 0) throw new ConfigError(sortIssues(problems.flatMap((p) => p.issues)));
}

/** `err` as a ConfigError: itself if it is one, else located at the setting `path`. */
export function asConfigError(loaded: LoadedConfig, path: string, err: unknown): ConfigError {
  if (err instanceof ConfigError) return err;
  const message =
    err instanceof RapidError ? err.message : ((err as Error)?.message ?? String(err));
  return settingError(loaded, path, message, E.CONFIG_BUILD_FAILED, err);
}
