import { handoffProject } from '../../vitest.shared.js';

export default handoffProject('reference-proxy', {
  // a throwaway redis-server on a free loopback port (or HANDOFF_REDIS_URL): the Redis stores test
  globalSetup: ['../../test/support/redis-global-setup.ts'],
});
