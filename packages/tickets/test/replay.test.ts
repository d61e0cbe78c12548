/**
 * Single use: the nonce is consumed only by a ticket that passed every other check; the in-memory
 * store refuses when full instead of evicting live nonces; stores that cannot answer fail closed.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  TicketError,
  createMemoryReplayStore,
  createRedisReplayStore,
  createRedisStateStore,
  createTicketIssuer,
  createTicketVerifier,
  type ReplayStore,
  type VerifyExpectations,
} from '@handoff/tickets';
import { parseBackendId } from '@handoff/types';
import {
  BINDING,
  CLIENT,
  OTHER_CLIENT,
  SOURCE,
  T0,
  TARGET,
  TEST_HS256_SECRET,
  decodeToken,
  expectCode,
  testClock,
  testKeyRing,
} from './support/fixtures.js';

/** Wraps a store and records every consume call. */
function spyStore(inner: ReplayStore): ReplayStore & { calls: string[] } {
  const calls: string[] = [];
  return {
    kind: 'spy',
    calls,
    consume(nonce, options) {
      calls.push(nonce);
      return inner.consume(nonce, options);
    },
    probe: (options) => inner.probe(options),
    close: () => inner.close(),
  };
}

async function setup(replayStore?: ReplayStore, extra: { replayTimeoutMs?: number; onReplayStoreUnavailable?: (e: TicketError) => void } = {}) {
  const clock = testClock(T0);
  const keyRing = await testKeyRing(clock.now, 'both');
  const store = replayStore ?? createMemoryReplayStore({ now: clock.now });
  const spy = spyStore(store);
  const verifier = createTicketVerifier({ keyRing, replayStore: spy, now: clock.now, maxTtlSeconds: 60, clockToleranceSeconds: 5, ...extra });
  const issuer = createTicketIssuer({ keyRing, issuer: SOURCE, ttlSeconds: 30, now: clock.now });
  return { clock, keyRing, verifier, spy, issuer };
}

/** A store whose consume never settles; `called` resolves with the signal once verification reaches it. */
function hungStore(): ReplayStore & { called: Promise<AbortSignal | undefined> } {
  let reached!: (signal: AbortSignal | undefined) => void;
  const called = new Promise<AbortSignal | undefined>((resolve) => (reached = resolve));
  return {
    kind: 'hung',
    called,
    consume: (_nonce, options) => {
      reached(options.signal);
      return new Promise(() => {});
    },
    probe: async () => {},
    close: async () => {},
  };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('single use', () => {
  it('refuses the second use of a ticket', async () => {
    const { verifier, issuer } = await setup();
    const token = await issuer.issue({ clientUuid: CLIENT, target: TARGET });
    await verifier.verify(token, BINDING);
    await expectCode(verifier.verify(token, BINDING), 'ERR_TICKET_REPLAYED');
    await expectCode(verifier.verify(token, BINDING), 'ERR_TICKET_REPLAYED');
  });

  it('does not consume the nonce when any other check fails', async () => {
    const { clock, keyRing, verifier, spy, issuer } = await setup();
    const token = await issuer.issue({ clientUuid: CLIENT, target: TARGET });
    const [h, p, s] = token.split('.') as [string, string, string];
    const kid = decodeToken(token).header.kid as string;
    expect(kid).toBe('hs-1'); // the newest signing key of the ring
    const failures: Array<[string, () => Promise<unknown>]> = [
      ['signature', () => verifier.verify(`${h}.${p}.${s.slice(0, 20)}${s[20] === 'A' ? 'B' : 'A'}${s.slice(21)}`, BINDING)],
      ['client', () => verifier.verify(token, { ...BINDING, clientUuid: OTHER_CLIENT })],
      ['source', () => verifier.verify(token, { ...BINDING, source: parseBackendId('x') } as VerifyExpectations)],
      ['target', () => verifier.verify(token, { ...BINDING, target: parseBackendId('y') } as VerifyExpectations)],
      [
        'expired',
        async () => {
          clock.set(T0 + 100);
          try {
            return await verifier.verify(token, BINDING);
          } finally {
            clock.set(T0);
          }
        },
      ],
      [
        'not yet valid',
        async () => {
          clock.set(T0 - 100);
          try {
            return await verifier.verify(token, BINDING);
          } finally {
            clock.set(T0);
          }
        },
      ],
      [
        'key retired',
        async () => {
          keyRing.retire(kid, (T0 - 100) * 1000);
          return verifier.verify(token, BINDING);
        },
      ],
    ];
    for (const [name, attempt] of failures) {
      const outcome = await attempt().then(
        () => 'verified',
        (error: unknown) => (error instanceof TicketError ? error.code : String(error)),
      );
      expect(outcome, name).toMatch(/^ERR_TICKET_/);
    }
    expect(spy.calls).toEqual([]);
    // the ticket itself is intact: with its key back it verifies once
    await keyRing.add({ kid: 'hs-1', secret: TEST_HS256_SECRET }, { replace: true });
    await expect(verifier.verify(token, BINDING)).resolves.toBeDefined();
    expect(spy.calls).toHaveLength(1);
  });
});

describe('in-memory replay store', () => {
  it('refuses an unusable configuration with ERR_TICKET_INVALID_ARGUMENT (memory capacity, a Redis store without client or URL)', () => {
    for (const maxEntries of [0, -1, 1.5, Number.NaN]) {
      expect(() => createMemoryReplayStore({ maxEntries })).toThrow(expect.objectContaining({ code: 'ERR_TICKET_INVALID_ARGUMENT', reason: 'maxEntries' }));
    }
    for (const create of [createRedisReplayStore, createRedisStateStore]) {
      expect(() => create({} as never)).toThrow(expect.objectContaining({ code: 'ERR_TICKET_INVALID_ARGUMENT', reason: 'redis-source' }));
    }
  });

  it('refuses new nonces when full instead of evicting live ones', async () => {
    const clock = testClock(T0);
    const store = createMemoryReplayStore({ maxEntries: 3, now: clock.now });
    const { verifier, issuer } = await setup(store);
    const tokens = await Promise.all([1, 2, 3, 4].map(() => issuer.issue({ clientUuid: CLIENT, target: TARGET })));
    for (const token of tokens.slice(0, 3)) await verifier.verify(token, BINDING);
    expect(store.size()).toBe(3);
    const full = await expectCode(verifier.verify(tokens[3]!, BINDING), 'ERR_TICKET_REPLAY_STORE_UNAVAILABLE');
    expect(full.reason).toBe('full');
    // nothing was evicted: the three used tickets are still refused as replays
    for (const token of tokens.slice(0, 3)) await expectCode(verifier.verify(token, BINDING), 'ERR_TICKET_REPLAYED');
    await expect(store.probe()).rejects.toMatchObject({ code: 'ERR_TICKET_REPLAY_STORE_UNAVAILABLE', reason: 'full' });
  });

  it('keeps an entry until exp plus tolerance, then reclaims it', async () => {
    const clock = testClock(T0);
    const store = createMemoryReplayStore({ maxEntries: 1, now: clock.now });
    expect(await store.consume('n1', { ttlMs: 10_000 })).toBe('fresh');
    clock.advance(9.999);
    expect(await store.consume('n1', { ttlMs: 10_000 })).toBe('replayed');
    await expect(store.consume('n2', { ttlMs: 10_000 })).rejects.toMatchObject({ reason: 'full' });
    clock.advance(0.001);
    expect(store.size()).toBe(0);
    expect(await store.consume('n2', { ttlMs: 10_000 })).toBe('fresh');
  });

  it('is asked to keep a verified nonce for as long as any verifier could still accept the ticket', async () => {
    const clock = testClock(T0);
    const seen: Parameters<ReplayStore['consume']>[1][] = [];
    const inner = createMemoryReplayStore({ now: clock.now });
    const store: ReplayStore = { ...inner, kind: 'memory', consume: (n, o) => (seen.push(o), inner.consume(n, o)) };
    const { verifier, issuer } = await setup(store);
    const token = await issuer.issue({ clientUuid: CLIENT, target: TARGET });
    await verifier.verify(token, BINDING);
    // exp = T0 + 30; accepted while now <= exp + 5 (inclusive second) => until T0 + 36 s, plus one tolerance
    expect(seen[0]!.ttlMs).toBe((30 + 5 + 1 + 5) * 1000);
    // entry still there at the last accepted instant
    clock.set(T0 + 35.999);
    await expectCode(verifier.verify(token, BINDING), 'ERR_TICKET_REPLAYED');
  });
});

describe('fail closed', () => {
  it('times out a replay store that never answers', async () => {
    const hung = hungStore();
    const unavailable: TicketError[] = [];
    const { verifier, issuer } = await setup(hung, { replayTimeoutMs: 250, onReplayStoreUnavailable: (e) => unavailable.push(e) });
    const token = await issuer.issue({ clientUuid: CLIENT, target: TARGET });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const pending = verifier.verify(token, BINDING);
    const settled = expectCode(pending, 'ERR_TICKET_REPLAY_STORE_UNAVAILABLE');
    await hung.called;
    await vi.advanceTimersByTimeAsync(249);
    let done = false;
    void settled.then(() => (done = true));
    await Promise.resolve();
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const error = await settled;
    expect(error.reason).toBe('timeout');
    expect(unavailable).toHaveLength(1);
  });

  it('stops waiting when the caller aborts, and hands the store an aborted signal', async () => {
    const hung = hungStore();
    const { verifier, issuer } = await setup(hung, { replayTimeoutMs: 60_000 });
    const token = await issuer.issue({ clientUuid: CLIENT, target: TARGET });
    const controller = new AbortController();
    const pending = verifier.verify(token, BINDING, { signal: controller.signal });
    const storeSignal = await hung.called;
    expect(storeSignal?.aborted).toBe(false);
    controller.abort(new Error('client went away'));
    const error = await expectCode(pending, 'ERR_TICKET_REPLAY_STORE_UNAVAILABLE');
    expect(error.reason).toBe('aborted');
    expect(storeSignal?.aborted).toBe(true);
    // already-aborted signal: refused without touching the store
    await expectCode(verifier.verify(token, BINDING, { signal: AbortSignal.abort() }), 'ERR_TICKET_REPLAY_STORE_UNAVAILABLE');
  });

  it('maps a store that throws to ERR_TICKET_REPLAY_STORE_UNAVAILABLE with a sanitised cause', async () => {
    const leaky = Object.assign(new Error('connection reset'), { command: { name: 'set', args: ['secret-nonce'] } });
    const broken: ReplayStore = { kind: 'broken', consume: async () => Promise.reject(leaky), probe: async () => {}, close: async () => {} };
    const { verifier, issuer } = await setup(broken);
    const error = await expectCode(verifier.verify(await issuer.issue({ clientUuid: CLIENT, target: TARGET }), BINDING), 'ERR_TICKET_REPLAY_STORE_UNAVAILABLE');
    expect(error.reason).toBe('error');
    expect((error.cause as Error).message).toBe('connection reset');
    expect(JSON.stringify(error.cause, Object.getOwnPropertyNames(error.cause))).not.toContain('secret-nonce');
    expect(error.cause).not.toHaveProperty('command');
  });

  it('treats an unexpected store result as unavailable, not as success', async () => {
    const odd: ReplayStore = { kind: 'odd', consume: async () => 'maybe' as 'fresh', probe: async () => {}, close: async () => {} };
    const { verifier, issuer } = await setup(odd);
    await expectCode(verifier.verify(await issuer.issue({ clientUuid: CLIENT, target: TARGET }), BINDING), 'ERR_TICKET_REPLAY_STORE_UNAVAILABLE');
  });
});
