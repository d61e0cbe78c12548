import { handoffProject } from '../../vitest.shared.js';

export default handoffProject('proxy-kit', {
  // A throwaway redis-server on a free loopback port (or HANDOFF_REDIS_URL): the replay store and directory tests
  globalSetup: ['../../test/support/redis-global-setup.ts'],
});
