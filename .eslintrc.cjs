module.exports = {
  root: true,
  parser: '@typescript-eslint/parser',
  parserOptions: { project: './tsconfig.json', tsconfigRootDir: __dirname, sourceType: 'module' },
  plugins: ['@typescript-eslint', 'ava'],
  extends: ['eslint:recommended', 'plugin:@typescript-eslint/recommended', 'plugin:ava/recommended'],
  env: { node: true, es2022: true },
  ignorePatterns: ['dist/', 'node_modules/', 'lib/orders/generated/', '.build/'],
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
  },
  overrides: [{ files: ['scripts/**', 'test/**'], rules: { 'no-console': 'off' } }],
}
