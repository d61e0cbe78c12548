/**
 * Vitest global setup: a throwaway `redis-server` on a free loopback port.
 *
 * Projects that test the Redis replay store or session directory list this file
 * in `globalSetup`; tests read the URL with `inject('redisUrl')`. When
 * `HANDOFF_REDIS_URL` is set, that server is used instead and nothing is started.
 * `scripts/services.sh` (run by `pnpm test`) installs Debian's `redis-server`.
 */
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { startRedisServer } from './redis-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const external = process.env.HANDOFF_REDIS_URL;
  if (external) {
    project.provide('redisUrl', external);
    return async () => {};
  }
  const server = await startRedisServer();
  project.provide('redisUrl', server.url);
  return () => server.stop();
}
