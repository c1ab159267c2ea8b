// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

/**
 * Layers point one way: util <- core <- net/router <- protocols <- app <- features <- server
 * <- config <- cluster <- cli. Each folder may import only the folders below it; this table is
 * the rule, enforced with no-restricted-imports (docs/architecture.md shows the picture).
 */
const layers = {
  util: [],
  core: ['util'],
  net: ['core', 'util'],
  router: ['core', 'util'],
  http1: ['net', 'core', 'util'],
  http2: ['net', 'core', 'util', 'http1'],
  websocket: ['net', 'core', 'util'],
  app: ['router', 'core', 'util'],
  features: ['app', 'router', 'core', 'util'],
  server: ['net', 'http1', 'http2', 'websocket', 'app', 'features', 'router', 'core', 'util'],
  config: ['server', 'features', 'app', 'router', 'net', 'core', 'util'],
  cluster: ['config', 'server', 'net', 'core', 'util'],
  cli: ['cluster', 'config', 'server', 'features', 'app', 'core', 'util'],
};
const all = Object.keys(layers);
const layerRules = Object.entries(layers).map(([layer, allowed]) => ({
  files: [`src/${layer}/**/*.ts`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: all
          .filter((l) => l !== layer && !allowed.includes(l))
          .map((l) => ({
            group: [`../${l}/*`, `../../${l}/*`, `../${l}/**`, `../../${l}/**`],
            message: `src/${layer} may not import src/${l}: layers point one way (docs/architecture.md).`,
          })),
      },
    ],
  },
}));

export default tseslint.config(
  { ignores: ['dist/', '.tmp/', 'node_modules/', 'bench/node_modules/', 'examples/site/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'prefer-const': 'error',
    },
  },
  ...layerRules,
);
