/**
 * `pnpm bench tickets`: verifications per second, EdDSA and HS256, with the memory and the Redis
 * replay store, one verification at a time (latency-bound) and 32 in flight (throughput).
 * Redis: a private redis-server on a free loopback port, or HANDOFF_REDIS_URL when set.
 * Every verification consumes a fresh ticket (tickets are single use), issued before timing starts.
 */
import { performance } from 'node:perf_hooks';
import { emit, log, stats } from '../../../scripts/bench-kit.js';
import { redisForBenchmark } from '../../../test/support/redis-server.js';
import {
  createKeyRing,
  createMemoryReplayStore,
  createRedisReplayStore,
  createTicketIssuer,
  createTicketVerifier,
  type ReplayStore,
} from '../src/index.js';
import { parseBackendId, parseClientUuid, parsePoolId } from '@handoff/types';

const ROUNDS = 9;
const BATCH = 600;
const CLIENT = parseClientUuid('0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d');
const SOURCE = parseBackendId('lobby-1');
const TARGET = parseBackendId('game-7');
const BINDING = { clientUuid: CLIENT, source: SOURCE, target: TARGET };


async function scenario(alg: 'EdDSA' | 'HS256', store: ReplayStore, concurrency: number) {
  const keyRing = createKeyRing();
  if (alg === 'EdDSA') {
    const { generateKeyPairSync } = await import('node:crypto');
    const { privateKey } = generateKeyPairSync('ed25519');
    await keyRing.add({ kid: 'bench-ed', pem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() });
  } else {
    await keyRing.add({ kid: 'bench-hs', secret: crypto.getRandomValues(new Uint8Array(32)) });
  }
  const issuer = createTicketIssuer({ keyRing, issuer: SOURCE, ttlSeconds: 60 });
  const verifier = createTicketVerifier({ keyRing, replayStore: store, maxTtlSeconds: 60, replayTimeoutMs: 5_000 });
  const total = (ROUNDS + 1) * BATCH;
  const tokens: string[] = [];
  for (let i = 0; i < total; i++) tokens.push(await issuer.issue({ clientUuid: CLIENT, target: TARGET, pool: parsePoolId('bench') }));
  let next = 0;
  const runBatch = async () => {
    let remaining = BATCH;
    const worker = async () => {
      while (remaining > 0) {
        remaining -= 1;
        await verifier.verify(tokens[next++]!, BINDING);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  };
  await runBatch(); // warm-up
  const rates: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = performance.now();
    await runBatch();
    rates.push((BATCH / (performance.now() - start)) * 1000);
  }
  return stats(rates);
}

const redis = await redisForBenchmark();
const results: Record<string, { median: number; min: number; max: number }> = {};
try {
  const redisStore = createRedisReplayStore({ url: redis.url, keyPrefix: `handoff:bench:${process.pid}:` });
  await redisStore.probe();
  for (const storeName of ['memory', 'redis'] as const) {
    for (const alg of ['EdDSA', 'HS256'] as const) {
      for (const concurrency of [1, 32]) {
        const store = storeName === 'memory' ? createMemoryReplayStore({ maxEntries: 1_000_000 }) : redisStore;
        const s = await scenario(alg, store, concurrency);
        const name = `verify ${alg} + ${storeName} store, ${concurrency} in flight`;
        results[`${alg}/${storeName}/c${concurrency}`] = { median: Math.round(s.median), min: Math.round(s.min), max: Math.round(s.max) };
        log(`${name.padEnd(48)} ${Math.round(s.median).toString().padStart(7)} verifications/s (median of ${ROUNDS}; min ${Math.round(s.min)}, max ${Math.round(s.max)})`);
      }
    }
  }
  await redisStore.close();
} finally {
  await redis.stop();
}
const ratio = (a: string, b: string) => Math.round((results[a]!.median / results[b]!.median) * 100) / 100;
log(`HS256/EdDSA (memory, 1 in flight): ${ratio('HS256/memory/c1', 'EdDSA/memory/c1')}x; redis/memory (EdDSA, 32 in flight): ${ratio('EdDSA/redis/c32', 'EdDSA/memory/c32')}x`);
emit({ unit: 'verifications per second (median)', rounds: ROUNDS, batch: BATCH, results });
