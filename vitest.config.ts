import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: ['packages/*', 'examples/reference-proxy', 'test'],
    // one summary line is printed by scripts/test.mjs from the JSON report
    reporters: process.env.HANDOFF_JSON_REPORT
      ? ['default', ['json', { outputFile: process.env.HANDOFF_JSON_REPORT }]]
      : ['default'],
  },
});
