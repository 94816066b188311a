/**
 * The fast tier: the pure rules of src/domain, with no global setup (no Postgres, no Temporal),
 * in seconds. `npm test` runs these files too, through jest.config.js (its roots include them).
 * @type {import('jest').Config}
 */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test/unit'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': 'ts-jest',
  },
};
