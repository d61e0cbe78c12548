/**
 * The URL of the redis-server the project's global setup started (`../../test/support/redis-global-setup.ts`
 * in `packages/session/vitest.config.ts`), or HANDOFF_REDIS_URL. Never skips: without it, tests fail.
 */
import { inject } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

export function redisUrl(): string {
  const url = inject('redisUrl');
  if (typeof url !== 'string' || url.length === 0) {
    throw new Error(
      'redisUrl was not provided: packages/session/vitest.config.ts must list ../../test/support/redis-global-setup.ts in globalSetup ' +
        '(it starts redis-server; install it with scripts/services.sh, or set HANDOFF_REDIS_URL)',
    );
  }
  return url;
}
