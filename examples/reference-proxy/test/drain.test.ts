/**
 * Drains at a bounded rate. The schedule runs on a manual clock: the rate is asserted by counting
 * the migrations started (the drain's own count and the kit's `migration:phase` events) after each
 * step of the clock, never by timing anything.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { MigrationTrigger, ProxyMigrationResult } from '@handoff/proxy-kit';
import { ManualClock, type StrictClient } from '@handoff/testkit';
import { parseBackendRef, parseClientUuid, parseMigrationId, type BackendRef, type Phase } from '@handoff/types';
import { startDrain, type DrainablePlayer } from '@handoff/reference-proxy';
import { Harness } from './support/harness.js';

/** A player whose migrations the test settles by hand. */
class FakePlayer implements DrainablePlayer {
  readonly clientUuid;
  backend: BackendRef;
  phase: Phase = 'Idle';
  isClosed = false;
  readonly calls: BackendRef[] = [];
  #settle: ((ok: boolean) => void) | undefined;

  constructor(n: number, backend: string) {
    this.clientUuid = parseClientUuid(`00000000-0000-4000-8000-${String(n).padStart(12, '0')}`);
    this.backend = parseBackendRef({ id: backend });
  }

  migrate(target: BackendRef, _options: { readonly trigger: MigrationTrigger }): Promise<ProxyMigrationResult> {
    this.calls.push(target);
    this.phase = 'Prepare';
    const source = this.backend;
    const migrationId = parseMigrationId(`00000000-0000-4000-8000-${String(this.calls.length).padStart(12, '0')}`);
    return new Promise((resolve) => {
      this.#settle = (ok) => {
        this.phase = 'Idle';
        if (ok) {
          this.backend = target;
          resolve({ kind: 'migrated', migrationId, source, target, cleanup: 'done', trigger: 'drain' });
        } else {
          resolve({
            kind: 'rolled-back',
            migrationId,
            source,
            target,
            phase: 'Sync',
            reason: { code: 'ERR_MIGRATION_DEADLINE', phase: 'Sync', message: 'sync deadline' },
            trigger: 'drain',
          });
        }
      };
    });
  }

  settle(ok = true): void {
    this.#settle?.(ok);
    this.#settle = undefined;
  }
}

const b = parseBackendRef({ id: 'b' });
/** Lets the promise jobs of settled migrations run. */
const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('startDrain', () => {
  it('starts one migration at once, then one per 1/rate seconds: never more, whatever else happens', async () => {
    const clock = new ManualClock();
    const players = [1, 2, 3, 4, 5].map((n) => new FakePlayer(n, 'a'));
    const drain = startDrain({ backend: parseBackendRef({ id: 'a' }).id, to: 'b', rate: 2, clock, players: () => players, chooseTarget: () => b });
    const started = () => players.filter((p) => p.calls.length > 0).length;
    await clock.advance(0);
    expect([started(), drain.status().started]).toEqual([1, 1]);
    // the first one finishing at once does not pull the next slot in
    players[0]!.settle();
    await turn();
    await clock.advance(499);
    expect(started()).toBe(1);
    await clock.advance(1);
    expect(started()).toBe(2);
    // migrations still in flight do not hold the schedule back either: a slot starts the next one
    await clock.advance(500);
    await clock.advance(500);
    expect(started()).toBe(4);
    expect(drain.status()).toMatchObject({ state: 'running', started: 4, moved: 1, remaining: 4 });
    for (const p of players) p.settle();
    await turn();
    await clock.advance(500);
    expect(started()).toBe(5);
    players[4]!.settle();
    await turn();
    await clock.advance(500);
    const last = await drain.finished;
    expect(last).toMatchObject({ state: 'done', started: 5, moved: 5, failed: 0, remaining: 0, givenUp: 0 });
    expect(players.every((p) => p.backend.id === 'b' && p.calls.length === 1)).toBe(true);
  });

  it('tries a player again after a failed migration, up to maxAttempts, then leaves it and ends', async () => {
    const clock = new ManualClock();
    const player = new FakePlayer(1, 'a');
    const drain = startDrain({ backend: player.backend.id, to: 'b', rate: 10, clock, players: () => [player], chooseTarget: () => b, maxAttempts: 2 });
    await clock.advance(0);
    player.settle(false);
    await turn();
    await clock.advance(100);
    expect(player.calls).toHaveLength(2);
    player.settle(false);
    await turn();
    await clock.advance(100);
    expect(await drain.finished).toMatchObject({ state: 'done', started: 2, moved: 0, failed: 2, remaining: 1, givenUp: 1, failures: { 'rolled-back:ERR_MIGRATION_DEADLINE': 2 } });
  });

  it('counts a slot without a target, and stops when told', async () => {
    const clock = new ManualClock();
    const player = new FakePlayer(1, 'a');
    const drain = startDrain({ backend: player.backend.id, to: 'nowhere', rate: 1, clock, players: () => [player], chooseTarget: () => undefined });
    await clock.advance(0);
    expect(drain.status()).toMatchObject({ started: 0, failed: 1, failures: { 'no-target': 1 } });
    drain.stop();
    await clock.advance(10_000);
    expect(await drain.finished).toMatchObject({ state: 'stopped', failed: 1 });
  });

  it('refuses a rate that is not a positive number', () => {
    const init = { backend: parseBackendRef({ id: 'a' }).id, to: 'b', clock: new ManualClock(), players: () => [], chooseTarget: () => b };
    for (const rate of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) expect(() => startDrain({ ...init, rate })).toThrow(RangeError);
  });
});

describe('a drain through the proxy', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('moves every player off a backend at the rate asked, seamlessly', async () => {
    const clock = new ManualClock();
    // new players join the lobby pool (backend a); the drain sends them to the games pool (b)
    h = await Harness.start({
      clock,
      backends: [
        { id: 'a', transport: 'quic', pool: 'lobby' },
        { id: 'b', transport: 'tcp', pool: 'games' },
      ],
      config: { initialPool: 'lobby' },
    });
    const clients: StrictClient[] = [];
    for (let i = 0; i < 3; i += 1) clients.push(await h.client());
    expect(h.proxy.sessions().map((s) => s.backend.id)).toEqual(['a', 'a', 'a']);
    // the kit's own events: each migration's first phase
    let prepared = 0;
    const results: Promise<ProxyMigrationResult>[] = [];
    for (const session of h.proxy.sessions()) {
      session.on('migration:phase', ({ phase }) => {
        if (phase === 'Prepare') prepared += 1;
      });
      results.push(h.nextResult(session));
    }
    for (const c of clients) c.startMovement({ intervalMs: 25 });

    const reply = await h.api('POST', '/backends/a/drain', { to: 'games', rate: 1 });
    expect(reply.status).toBe(202);
    const drain = () => h!.proxy.backends().find((x) => x.id === 'a')!.drain!;
    await clock.advance(0);
    await h.until(() => prepared === 1, 'the first migration');
    // the first migration ends; real time goes by, the drain's clock does not: nothing else starts
    await Promise.race(results);
    await h.until(() => h!.proxy.sessions().filter((s) => s.backend.id === 'b' && s.phase === 'Idle').length === 1, 'the first player on b');
    expect([prepared, drain().started]).toEqual([1, 1]);
    await clock.advance(999);
    expect([prepared, drain().started]).toEqual([1, 1]);
    await clock.advance(1);
    await h.until(() => prepared === 2, 'the second migration');
    expect(drain().started).toBe(2);
    await clock.advance(1000);
    await h.until(() => prepared === 3, 'the third migration');
    expect(drain().started).toBe(3);
    expect((await Promise.all(results)).map((r) => [r.kind, r.trigger])).toEqual([
      ['migrated', 'drain'],
      ['migrated', 'drain'],
      ['migrated', 'drain'],
    ]);
    await clock.advance(1000);
    await h.until(() => drain().state === 'done', 'the drain to end');
    expect(drain()).toMatchObject({ started: 3, moved: 3, failed: 0, remaining: 0 });
    expect(prepared).toBe(3);
    expect(h.proxy.sessions().map((s) => s.backend.id)).toEqual(['b', 'b', 'b']);

    const metrics = await h.api('GET', '/metrics');
    expect(metrics.text).toMatch(/^handoff_drain_migrations_total\{backend="a",result="migrated"\} 3$/m);
    for (const c of clients) {
      c.stopMovement();
      expect(c.violations).toEqual([]);
      expect(c.counters.reconnects).toBe(0);
    }
  }, 60_000);
});
