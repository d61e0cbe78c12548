import { handoffProject } from '../vitest.shared.js';

export default handoffProject('integration', {
  include: ['integration/**/*.test.ts', 'e2e/**/*.test.ts', 'docs/**/*.test.ts'],
  // a throwaway redis-server on a free loopback port (or HANDOFF_REDIS_URL): the e2e session-directory test
  globalSetup: ['support/redis-global-setup.ts'],
});
