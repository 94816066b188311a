import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeBuiltins = [
  'assert',
  'buffer',
  'child_process',
  'cluster',
  'crypto',
  'dgram',
  'dns',
  'events',
  'fs',
  'fs/promises',
  'http',
  'http2',
  'https',
  'net',
  'os',
  'path',
  'perf_hooks',
  'process',
  'readline',
  'stream',
  'timers',
  'tls',
  'url',
  'util',
  'v8',
  'vm',
  'worker_threads',
  'zlib',
];

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.data/', 'coverage/', 'test/artifacts/', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Dev tooling (the Graph sandbox, the stack launchers, embedded Postgres, the Temporal dev
    // server, npm start) is left out of the production build: production code may not import it.
    files: ['src/**/*.ts', 'activities/**/*.ts', 'workflows/**/*.ts'],
    ignores: ['src/dev/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '(^|/)dev(/|$)',
              message:
                'src/dev is dev tooling, left out of the production build: only src/dev, test, bench and scripts use it.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [...nodeBuiltins.flatMap((name) => [name, `node:${name}`]), 'knex', 'pg', 'koa', 'pino'].map(
            (name) => ({ name, message: 'Workflow code must stay deterministic: no Node builtins, database or I/O.' }),
          ),
          patterns: [
            {
              regex: '(^|/)src/(?!domain/(vocabulary|lanes)$)',
              message:
                'Workflows import only the contract module, activity types, the vocabulary (plain data) and the lane rules (pure, no imports).',
              allowTypeImports: true,
            },
          ],
        },
      ],
      'no-console': 'error',
    },
  },
);
