/**
 * The strict client against the simulated backend over real loopback QUIC: a clean run has no
 * violation in any generation, every packet the client sent after entering the world is in the
 * backend's log exactly once and in order, and a referral is followed as a (reported) reconnect.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connectStrictClient, createBackend, type BackendEvent, type SimulatedBackend, type StrictClient } from '@handoff/testkit';

const cleanup: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step().catch(() => {});
});

async function backend(id: string, generation: string, extra: { password?: string } = {}): Promise<SimulatedBackend> {
  const b = await createBackend({ id, transport: 'quic', generation, ...extra });
  cleanup.push(() => b.close());
  return b;
}

async function client(target: SimulatedBackend, extra: { password?: string } = {}): Promise<StrictClient> {
  const c = await connectStrictClient({ address: target.address, generation: target.generation, ...extra });
  cleanup.push(() => c.close());
  return c;
}

/** Resolves once `target` saw the player's connection end (its log is then complete). */
function left(target: SimulatedBackend, c: StrictClient, since = 0): Promise<BackendEvent> {
  return target.waitForEvent((e) => e.type === 'disconnected' && e.clientUuid === c.clientUuid, { since });
}

describe.each(['G1', 'G2', 'G3'])('a clean run against the simulated %s backend', (generation) => {
  it('enters the world, answers pings, moves, leaves: no violation, every packet in the backend log once, in order', async () => {
    const lobby = await backend(`lobby-${generation.toLowerCase()}`, generation);
    const c = await client(lobby);
    const world = await c.inWorld();
    expect(world).toMatchObject({ index: 1, connection: 1, worldUuid: lobby.worldUuid, clearWorld: false });
    await c.until(() => c.counters.pings >= 1 && c.counters.chunksReceived >= 1);
    c.sendMovement(25);
    const gone = left(lobby, c);
    await c.leave();
    expect(await gone).toMatchObject({ kind: 'client-closed' });

    expect(c.account([lobby])).toEqual([]);
    expect(c.violations).toEqual([]);
    const log = lobby.packetLog(c.clientUuid);
    expect(log.filter((p) => p.name === 'ClientMovement')).toHaveLength(25);
    expect(log.filter((p) => p.name === 'Pong').length).toBe(3 * c.counters.pings);
    expect(lobby.counters.pongsAccepted).toBe(3 * c.counters.pings);
    expect(c.report()).toMatchObject({ seamless: true, state: 'ended', mode: 'development', generation });
  });
});

describe('against simulated backends', () => {
  it('follows a referral by reconnecting: one reconnect violation, and both logs account for every packet', async () => {
    const lobby = await backend('lobby', 'G3');
    const game = await backend('game-1', 'G3');
    const c = await client(lobby);
    await c.inWorld();
    c.sendMovement(5);
    await lobby.referToServer(c.clientUuid, { host: game.address.host, port: game.address.port, data: new TextEncoder().encode('hello') });
    const second = await c.worldChange();
    expect(second).toMatchObject({ index: 2, connection: 2, worldUuid: game.worldUuid });
    c.sendMovement(5);
    const gone = left(game, c);
    await c.leave();
    await gone;

    expect(c.account([lobby, game])).toEqual([]);
    expect(c.violations).toMatchObject([{ kind: 'reconnect', reason: 'referral', host: game.address.host, port: game.address.port, connection: 1 }]);
    expect(c.counters).toMatchObject({ connections: 2, reconnects: 1, referrals: 1, worlds: 2, movementSent: 10 });
    expect(game.events.find((e) => e.type === 'connect' && e.clientUuid === c.clientUuid)).toMatchObject({ referral: true });
  });

  it('a movement packet the backend never got is reported lost (its log is the truth)', async () => {
    const lobby = await backend('lobby', 'G2');
    const c = await client(lobby);
    await c.inWorld();
    c.sendMovement(3);
    const gone = left(lobby, c);
    await c.leave();
    await gone;
    const log = lobby.packetLog(c.clientUuid);
    const second = log.filter((p) => p.name === 'ClientMovement')[1]!;
    const tampered = { backend: lobby.id, worldUuid: lobby.worldUuid, packets: log.filter((p) => p !== second) };
    expect(c.account([tampered]).map((v) => v.kind)).toEqual(['lost-packet']);
    expect(c.account([lobby])).toEqual([]); // the untampered log accounts for everything
  });

  it('answers a password challenge', async () => {
    const lobby = await backend('lobby', 'G3', { password: 'hunter2' });
    const c = await client(lobby, { password: 'hunter2' });
    await c.inWorld();
    expect(c.counters.passwordAttempts).toBe(1);
    expect(lobby.events.filter((e) => e.type === 'password').map((e) => (e as { result: string }).result)).toEqual(['challenged', 'accepted']);
    await c.close();
    expect(c.violations).toEqual([]);
  });
});
