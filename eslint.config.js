// Lint rules: the recommended TypeScript set, type-aware where it catches real bugs.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The layering of docs/architecture.md: src/core/ imports only core, src/lib/ and packages (never http, db, store,
 * config, auth, jobs, webhooks, web, cli, ops or app). Specifiers are relative, so the rule is written per folder
 * depth: from src/core/<d folders>/x.ts, one more `../` than d leaves core, and only `lib/` may follow it.
 */
const coreLayer = [0, 1, 2, 3].map((depth) => ({
  files: [`src/core/${'*/'.repeat(depth)}*.ts`],
  rules: {
    '@typescript-eslint/no-restricted-imports': [
      'error',
      {
        patterns: [
          {
            regex: `^(\\.\\./){${depth + 1}}(?!lib/)`,
            message: 'src/core/ imports only src/core/, src/lib/ and packages; take settings and services as parameters (docs/architecture.md).',
          },
        ],
      },
    ],
  },
}));

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'data/', 'bench/results/', 'src/web/static/vendor/', 'src/client/openapi.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read settings in src/config.ts only.' }],
    },
  },
  ...coreLayer,
  {
    // Routes reach the database through core ports (catalog, repos), never db/ implementations; a type is allowed.
    files: ['src/http/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: '^(\\.\\./)+db/', allowTypeImports: true, message: 'src/http/ does not import db/ implementations: go through a core port (docs/architecture.md).' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/config.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    // node:test runs the promises describe() and it() return itself; awaiting them at top level is not the idiom.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] }] },
      ],
    },
  },
);
