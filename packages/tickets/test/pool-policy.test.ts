import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  TicketError,
  createKeyRing,
  createTicketIssuer,
  createMemoryReplayStore,
  createPoolPolicy,
  createTicketVerifier,
  type PoolPolicyEvent,
  type ReplayStore,
} from '@handoff/tickets';
import { parsePoolId } from '@handoff/types';
import { BINDING, T0, TEST_ED25519_JWK, TEST_HS256_SECRET, expectCode, testClock } from './support/fixtures.js';

/** A replay store whose health the test switches; probes report the configured failure. */
function switchableStore() {
  let failure: string | undefined;
  let probes = 0;
  const store: ReplayStore = {
    kind: 'switchable',
    consume: async () => {
      if (failure !== undefined) throw new Error('down');
      return 'fresh';
    },
    probe: async () => {
      probes += 1;
      if (failure !== undefined) throw new TicketError('ERR_TICKET_REPLAY_STORE_UNAVAILABLE', undefined, { reason: failure });
    },
    close: async () => {},
  };
  return {
    store,
    fail: (reason: string) => (failure = reason),
    heal: () => (failure = undefined),
    probes: () => probes,
  };
}

async function setup(options: { requireSigningKey?: boolean } = {}) {
  const clock = testClock(T0);
  const keyRing = createKeyRing({ now: clock.now });
  const store = switchableStore();
  const events: PoolPolicyEvent[] = [];
  const policy = createPoolPolicy({ keyRing, replayStore: store.store, pools: [parsePoolId('lobby'), parsePoolId('minigames')], now: clock.now, ...options });
  policy.subscribe((e) => events.push(e));
  return { clock, keyRing, store, policy, events };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('pool policy', () => {
  it('disables seamless migration until the replay store has been probed', async () => {
    const { keyRing, policy } = await setup();
    await keyRing.add({ kid: 'k', jwk: TEST_ED25519_JWK });
    expect(policy.status(parsePoolId('lobby'))).toEqual({ seamless: false, reason: 'replay-store-unprobed' });
    expect(await policy.probe()).toMatchObject({ healthy: true, reason: undefined });
    expect(policy.status(parsePoolId('lobby'))).toEqual({ seamless: true });
  });

  it('disables a pool without a verification key, and enables it when a key is added at runtime', async () => {
    const { keyRing, policy, events } = await setup();
    await policy.probe();
    expect(policy.status(parsePoolId('lobby'))).toEqual({ seamless: false, reason: 'no-verification-key' });
    events.length = 0;
    await keyRing.add({ kid: 'mini', jwk: TEST_ED25519_JWK, pools: [parsePoolId('minigames')] });
    expect(policy.status(parsePoolId('minigames'))).toEqual({ seamless: true });
    expect(policy.status(parsePoolId('lobby'))).toEqual({ seamless: false, reason: 'no-verification-key' });
    expect(events).toEqual([
      { type: 'pool-status', pool: 'minigames', status: { seamless: true }, previous: { seamless: false, reason: 'no-verification-key' }, at: T0 * 1000 },
    ]);
  });

  it('follows key validity windows as time passes', async () => {
    const { clock, keyRing, policy, events } = await setup();
    await keyRing.add({ kid: 'k', secret: TEST_HS256_SECRET, notBefore: (T0 + 10) * 1000, notAfter: (T0 + 20) * 1000 });
    await policy.probe();
    expect(policy.status(parsePoolId('lobby')).reason).toBe('no-verification-key');
    clock.set(T0 + 10);
    policy.refresh();
    expect(policy.status(parsePoolId('lobby'))).toEqual({ seamless: true });
    clock.set(T0 + 21);
    policy.refresh();
    expect(policy.status(parsePoolId('lobby'))).toEqual({ seamless: false, reason: 'no-verification-key' });
    const lobby = events.filter((e) => e.type === 'pool-status' && e.pool === 'lobby').map((e) => (e as { status: unknown }).status);
    expect(lobby).toEqual([{ seamless: true }, { seamless: false, reason: 'no-verification-key' }]);
  });

  it('requires a signing key covering the ticket lifetime when the proxy issues', async () => {
    const { keyRing, policy } = await setup({ requireSigningKey: true });
    await keyRing.add({ kid: 'pub', jwk: { kty: 'OKP', crv: 'Ed25519', x: TEST_ED25519_JWK.x } });
    await policy.probe();
    expect(policy.status(parsePoolId('lobby'))).toEqual({ seamless: false, reason: 'no-signing-key' });
    await keyRing.add({ kid: 'priv', jwk: TEST_ED25519_JWK, notAfter: (T0 + 10) * 1000 });
    expect(policy.status(parsePoolId('lobby'))).toEqual({ seamless: false, reason: 'no-signing-key' }); // lapses before a 30 s ticket would expire
    await keyRing.add({ kid: 'priv2', jwk: TEST_ED25519_JWK });
    expect(policy.status(parsePoolId('lobby'))).toEqual({ seamless: true });
  });

  it('disables every pool when a probe fails, reports it, and recovers on the next good probe', async () => {
    const { keyRing, store, policy, events } = await setup();
    await keyRing.add({ kid: 'k', jwk: TEST_ED25519_JWK });
    await policy.probe();
    events.length = 0;
    store.fail('timeout');
    expect(await policy.probe()).toMatchObject({ healthy: false, reason: 'timeout' });
    expect(policy.status(parsePoolId('lobby'))).toEqual({ seamless: false, reason: 'replay-store-unavailable' });
    expect(policy.status(parsePoolId('minigames'))).toEqual({ seamless: false, reason: 'replay-store-unavailable' });
    expect(events.map((e) => (e.type === 'pool-status' ? `${e.pool}:${e.status.seamless}` : `store:${e.health.healthy}`))).toEqual([
      'store:false',
      'lobby:false',
      'minigames:false',
    ]);
    const snapshot = policy.snapshot();
    expect(snapshot).toEqual({
      at: T0 * 1000,
      replayStore: { kind: 'switchable', healthy: false, reason: 'timeout', probedAt: T0 * 1000, latencyMs: 0, probes: 2, failures: 1 },
      pools: {
        lobby: { seamless: false, reason: 'replay-store-unavailable' },
        minigames: { seamless: false, reason: 'replay-store-unavailable' },
      },
    });
    store.heal();
    await policy.probe();
    expect(policy.status(parsePoolId('lobby'))).toEqual({ seamless: true });
  });

  it('probes (rather than guesses) after a verifier reports the store unavailable, at most once per gap', async () => {
    const clock = testClock(T0);
    const keyRing = createKeyRing({ now: clock.now });
    await keyRing.add({ kid: 'k', jwk: TEST_ED25519_JWK });
    const store = switchableStore();
    const policy = createPoolPolicy({ keyRing, replayStore: store.store, now: clock.now, minProbeGapMs: 1000 });
    await policy.probe();
    expect(store.probes()).toBe(1);
    store.fail('down');
    const verifier = createTicketVerifier({ keyRing, replayStore: store.store, now: clock.now, onReplayStoreUnavailable: () => policy.requestProbe() });
    const issuer = createTicketIssuer({ keyRing, issuer: BINDING.source, now: clock.now });
    const token = () => issuer.issue({ clientUuid: BINDING.clientUuid, target: BINDING.target });
    await expectCode(verifier.verify(await token(), BINDING), 'ERR_TICKET_REPLAY_STORE_UNAVAILABLE');
    await vi.waitFor(() => expect(policy.status(parsePoolId('any'))).toEqual({ seamless: false, reason: 'replay-store-unavailable' }));
    expect(store.probes()).toBe(2);
    await expectCode(verifier.verify(await token(), BINDING), 'ERR_TICKET_REPLAY_STORE_UNAVAILABLE');
    expect(store.probes()).toBe(2); // rate-limited
    clock.advance(1);
    store.heal();
    policy.requestProbe();
    await vi.waitFor(() => expect(policy.status(parsePoolId('any'))).toEqual({ seamless: true }));
  });

  it('probes in the background after start() until stop()', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'] });
    const { keyRing, store, policy } = await setup();
    await keyRing.add({ kid: 'k', jwk: TEST_ED25519_JWK });
    const policyWithInterval = createPoolPolicy({ keyRing, replayStore: store.store, probeIntervalMs: 1000 });
    policyWithInterval.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(store.probes()).toBe(1);
    await vi.advanceTimersByTimeAsync(3000);
    expect(store.probes()).toBe(4);
    policyWithInterval.stop();
    await vi.advanceTimersByTimeAsync(5000);
    expect(store.probes()).toBe(4);
    policy.stop();
  });

  it('a memory replay store that is full disables seamless migration', async () => {
    const clock = testClock(T0);
    const keyRing = createKeyRing({ now: clock.now });
    await keyRing.add({ kid: 'k', jwk: TEST_ED25519_JWK });
    const store = createMemoryReplayStore({ maxEntries: 1, now: clock.now });
    const policy = createPoolPolicy({ keyRing, replayStore: store, now: clock.now });
    await policy.probe();
    expect(policy.status(parsePoolId('lobby')).seamless).toBe(true);
    await store.consume('x', { ttlMs: 10_000 });
    expect(await policy.probe()).toMatchObject({ healthy: false, reason: 'full' });
    expect(policy.status(parsePoolId('lobby'))).toEqual({ seamless: false, reason: 'replay-store-unavailable' });
    clock.advance(10);
    await policy.probe();
    expect(policy.status(parsePoolId('lobby')).seamless).toBe(true);
  });

  it('refuses invalid pool names', async () => {
    const { policy } = await setup();
    expect(() => policy.status('no spaces' as never)).toThrow(expect.objectContaining({ code: 'ERR_TICKET_INVALID_ARGUMENT' }));
  });
});
