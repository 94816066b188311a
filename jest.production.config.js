/**
 * `npm run test:production`: the production topology (src/dev/stack) — the Temporal server on
 * Postgres, two workers and two APIs from dist/ — with no global setup of its own: the test
 * starts and stops the stack. Kept apart from `npm test`, which stays a few minutes.
 */
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test/production'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': 'ts-jest',
  },
  testTimeout: 300_000,
  maxWorkers: 1,
  // Something of the SDK's or undici's keeps the loop alive after the stack stopped; afterAll
  // checks that no process of the stack is left, so exiting is safe.
  forceExit: true,
  reporters: ['default', '<rootDir>/test/setup/summary-reporter.js'],
};
