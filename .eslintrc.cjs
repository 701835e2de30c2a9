/**
 * Import rules (import/no-restricted-paths): which folder may import which. Paths are relative to the repository
 * root (basePath). An import breaking two rules is reported once per rule. Zone targets have no `except`, so
 * "everything but test/" and "everything but test/ and scripts/delivery/build.ts" are spelt as globs.
 */
const everythingButTest = ['./!(test)/**', './*']
const everythingButTestAndBuild = [
  './!(test|scripts)/**',
  './*',
  './scripts/*',
  './scripts/!(delivery)/**',
  './scripts/delivery/!(build.ts)',
  './scripts/delivery/*/**',
]

module.exports = {
  root: true,
  parser: '@typescript-eslint/parser',
  parserOptions: { project: './tsconfig.json', tsconfigRootDir: __dirname, sourceType: 'module' },
  plugins: ['@typescript-eslint', 'ava', 'import'],
  extends: ['eslint:recommended', 'plugin:@typescript-eslint/recommended', 'plugin:ava/recommended'],
  env: { node: true, es2022: true },
  ignorePatterns: ['dist/', 'node_modules/', 'lib/orders/generated/', '.build/'],
  settings: {
    // Imports spell their extension ('./order.ts'); the extensions also let an extensionless import resolve, so that
    // import/no-restricted-paths (which skips what it cannot resolve) still sees it.
    'import/resolver': { node: { extensions: ['.ts', '.tsx', '.mts', '.mjs', '.js', '.json'] } },
  },
  rules: {
    'ava/no-skip-test': 'error',
    'ava/no-only-test': 'error',
    'ava/no-todo-test': 'error',
    '@typescript-eslint/no-floating-promises': 'error',
    '@typescript-eslint/no-unused-vars': [
      'error',
      { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true },
    ],
    'no-console': ['error', { allow: ['error'] }],
    'import/no-restricted-paths': [
      'error',
      {
        basePath: __dirname,
        zones: [
          {
            target: './lib/orders',
            from: '.',
            except: ['./lib/orders', './node_modules'],
            message:
              'lib/orders is the pure domain: it imports nothing outside itself (npm packages other than @aws-sdk/* and node: built-ins excepted).',
          },
          {
            target: './lib',
            from: ['./middlewares', './handlers', './scripts', './schemas', './test'],
            message: 'lib/ is the bottom layer: it never imports middlewares/, handlers/, scripts/, schemas/ or test/.',
          },
          {
            target: './middlewares',
            from: ['./handlers', './scripts', './test'],
            message: 'middlewares/ never import handlers/, scripts/ or test/.',
          },
          {
            target: everythingButTestAndBuild,
            from: './handlers',
            message:
              'handlers/ are Lambda entry points: only the build (scripts/delivery/build.ts) and test/ import them, not even another handler.',
          },
          {
            target: everythingButTest,
            from: './test',
            message: 'test/ is imported only by test/.',
          },
        ],
      },
    ],
  },
  overrides: [
    { files: ['scripts/**', 'test/**'], rules: { 'no-console': 'off' } },
    {
      files: ['lib/orders/**'],
      rules: {
        'no-restricted-imports': [
          'error',
          {
            patterns: [
              {
                group: ['@aws-sdk/*'],
                message: 'lib/orders is the pure domain: no AWS SDK; AWS code lives in lib/aws.',
              },
            ],
          },
        ],
      },
    },
  ],
}
