/**
 * Every timeout of the simulated backend, on a manual clock: each fires exactly at its configured
 * duration (not a millisecond before), with the server's message and close code.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { memory } from '@handoff/transport';
import { ManualClock, PROTOCOL_VIOLATION_CLOSE, STAGE_TIMEOUT_REASON, createBackend, type BackendInit } from '@handoff/testkit';
import { Driver, answerPing, connectPacket, join, value } from './backend-support/driver.js';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close();
});

async function start(extra: Partial<BackendInit> = {}) {
  const net = memory();
  const clock = new ManualClock();
  const backend = await createBackend({ id: 'lobby', transport: net, listen: { host: 'lobby', port: 1 }, clock, ...extra });
  open.push(backend);
  const driver = await Driver.connect(net, backend);
  open.push(driver);
  return { backend, driver, clock };
}

/** Moves the clock to just before `ms` (the connection must still be open), then past it. */
async function crossing(clock: ManualClock, driver: Driver, ms: number, alreadyElapsed = 0): Promise<void> {
  await clock.advance(ms - alreadyElapsed - 1);
  expect(driver.connection.closed).not.toBe(undefined);
  let done = false;
  void driver.closed.then(() => (done = true));
  await new Promise((resolve) => setTimeout(resolve, 10));
  expect(done, `closed before ${ms} ms`).toBe(false);
  await clock.advance(1);
}

describe('stage timeouts', () => {
  it("initial: no Connect within 15 s closes silently (the server's transport close), nothing sent", async () => {
    const { backend, driver, clock } = await start();
    await crossing(clock, driver, 15_000);
    expect(await driver.closed).toMatchObject({ initiator: 'remote', code: PROTOCOL_VIOLATION_CLOSE.code });
    expect(driver.received).toEqual([]);
    expect(await backend.allPlayers[0]!.closed).toMatchObject({ kind: 'stage-timeout', detail: 'initial', reason: undefined });
  });

  it('initial: the G1 stage is 10 s', async () => {
    const { driver, clock } = await start({ generation: 'G1' });
    await crossing(clock, driver, 10_000);
    expect(await driver.closed).toMatchObject({ code: PROTOCOL_VIOLATION_CLOSE.code });
  });

  it('setup:world-settings: a connection redirect in setup leaves the 15 s stage timer armed', async () => {
    const { backend, driver, clock } = await start({ onSetupConnect: () => ({ refer: { host: 'elsewhere', port: 5520 } }) });
    await driver.send('Connect', connectPacket(driver.generation));
    const referral = value<{ hostTo: { host: string; port: number } }>(await driver.next('ClientReferral'));
    expect(referral.hostTo).toEqual({ host: 'elsewhere', port: 5520 });
    await crossing(clock, driver, 15_000);
    const disconnect = await driver.next('Disconnect');
    expect(value(disconnect)).toEqual({ reason: STAGE_TIMEOUT_REASON, type: 'Disconnect' });
    expect(await driver.closed).toMatchObject({ code: 0 });
    expect(await backend.allPlayers[0]!.closed).toMatchObject({ kind: 'stage-timeout', detail: 'setup:world-settings' });
  });

  it('setup:assets-request: no RequestAssets within 120 s', async () => {
    const { backend, driver, clock } = await start();
    await join(driver, { until: 'world-settings' });
    await crossing(clock, driver, 120_000);
    expect(value(await driver.next('Disconnect'))).toEqual({ reason: STAGE_TIMEOUT_REASON, type: 'Disconnect' });
    expect(await driver.closed).toMatchObject({ code: 0 });
    expect(await backend.allPlayers[0]!.closed).toMatchObject({ kind: 'stage-timeout', detail: 'setup:assets-request' });
  });

  it('setup:send-assets: silence after RequestAssets ends with "Read timeout" and code 4 after 120 s', async () => {
    const { backend, driver, clock } = await start();
    await join(driver, { until: 'assets' });
    await crossing(clock, driver, 120_000);
    expect(value(await driver.next('Disconnect'))).toEqual({ reason: 'Read timeout', type: 'Disconnect' });
    expect(await driver.closed).toMatchObject({ code: 4 });
    expect(await backend.allPlayers[0]!.closed).toMatchObject({ kind: 'read-timeout', detail: 'setup:send-assets', closeCode: 4 });
  });

  it('password: the insecure path arms no stage timer, only the 45 s inactivity timeout ("Read timeout", code 4)', async () => {
    const { backend, driver, clock } = await start({ password: 'pw' });
    await driver.send('Connect', connectPacket(driver.generation));
    await driver.next('ConnectAccept');
    await crossing(clock, driver, 45_000);
    expect(value(await driver.next('Disconnect'))).toEqual({ reason: 'Read timeout', type: 'Disconnect' });
    expect(await driver.closed).toMatchObject({ code: 4 });
    expect(await backend.allPlayers[0]!.closed).toMatchObject({ kind: 'read-timeout', detail: 'password' });
  });

  it('G1 has no code 4: a read timeout closes with 0', async () => {
    const { driver, clock } = await start({ generation: 'G1', password: 'pw' });
    await driver.send('Connect', connectPacket(driver.generation));
    await driver.next('ConnectAccept');
    await crossing(clock, driver, 30_000);
    expect(value(await driver.next('Disconnect'))).toEqual({ reason: 'Read timeout', type: 'Disconnect' });
    expect(await driver.closed).toMatchObject({ code: 0 });
  });
});

describe('the world join', () => {
  it('ClientReady must come within 30 s of JoinWorld: "Exception when adding player to world!"', async () => {
    const { backend, driver, clock } = await start();
    await join(driver, { until: 'join-world' });
    await crossing(clock, driver, 30_000);
    expect(value(await driver.next('Disconnect'))).toEqual({ reason: 'Exception when adding player to world!', type: 'Disconnect' });
    expect(await driver.closed).toMatchObject({ code: 0 });
    expect(await backend.allPlayers[0]!.closed).toMatchObject({ kind: 'client-ready-timeout' });
    expect(driver.names()).not.toContain('SetClientId');
  });

  it('a ClientReady at 29.999 s is in time', async () => {
    const { backend, driver, clock } = await start();
    await join(driver, { until: 'join-world' });
    await clock.advance(29_999);
    await driver.send('ClientReady', { readyForChunks: true, readyForGameplay: false });
    await driver.next('SetClientId');
    await clock.advance(10);
    expect(backend.players[0]).toMatchObject({ inWorld: true, stage: 'play' });
  });

  it('a configured window is honoured (short timeouts for tests)', async () => {
    const { driver, clock } = await start({ timeouts: { clientReady: 500 } });
    await join(driver, { until: 'join-world' });
    await crossing(clock, driver, 500);
    expect(value(await driver.next('Disconnect'))).toMatchObject({ reason: 'Exception when adding player to world!' });
  });
});

describe('play', () => {
  it('60 s without a packet: "Read timeout", code 4', async () => {
    const { backend, driver, clock } = await start();
    await join(driver);
    await crossing(clock, driver, 60_000);
    expect(value(await driver.next('Disconnect'))).toEqual({ reason: 'Read timeout', type: 'Disconnect' });
    expect(await driver.closed).toMatchObject({ code: 4 });
    expect(await backend.allPlayers[0]!.closed).toMatchObject({ kind: 'read-timeout', detail: 'play' });
  });

  it('pings every second, and a client that answers them stays as long as it likes', async () => {
    const { backend, driver, clock } = await start();
    await join(driver);
    for (let second = 0; second < 150; second++) {
      const pings = await driver.waitFor('Ping', second + 1);
      await answerPing(driver, pings[second]!);
      await expect.poll(() => backend.counters.pongsAccepted).toBe(3 * (second + 1));
      await clock.advance(1000);
    }
    expect(backend.players[0]).toMatchObject({ inWorld: true });
    expect(backend.counters.timeouts).toBe(0);
  });
});
