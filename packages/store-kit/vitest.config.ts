import { handoffProject } from '../../vitest.shared.js';

export default handoffProject('store-kit', {
  // A throwaway redis-server on a free loopback port (or HANDOFF_REDIS_URL); tests read inject('redisUrl').
  globalSetup: ['../../test/support/redis-global-setup.ts'],
});
