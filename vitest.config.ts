import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Each file opens its own database; PGlite starts in about a second.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
