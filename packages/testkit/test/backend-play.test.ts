/**
 * The simulated backend in play: the Pong FIFOs, and the API tests and recipes drive it with
 * (referral, kick, stall, crash), the server-wide player list, assets in play, distinguishable worlds.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { memory, type MemoryTransport } from '@handoff/transport';
import { portFromWire } from '@handoff/protocol';
import { ManualClock, assetHash, chunkOwner, createBackend, type BackendInit, type SimulatedBackend } from '@handoff/testkit';
import { Driver, PLAYER_UUID, answerPing, join, value } from './backend-support/driver.js';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close();
});

async function start(extra: Partial<BackendInit> = {}, id = 'lobby'): Promise<{ net: MemoryTransport; backend: SimulatedBackend; driver: Driver }> {
  const net = memory();
  const backend = await createBackend({ id, transport: net, listen: { host: id, port: 1 }, ...extra });
  open.push(backend);
  const driver = await Driver.connect(net, backend);
  open.push(driver);
  return { net, backend, driver };
}

describe('Pong FIFOs', () => {
  it('accepts one Pong per type per Ping, each type in its own order', async () => {
    const clock = new ManualClock();
    const { backend, driver } = await start({ clock });
    await join(driver);
    await clock.advance(2000);
    const [p1, p2, p3] = await driver.waitFor('Ping', 3);
    // Raw answers all three first, then Direct, then Tick: the FIFOs are independent
    await answerPing(driver, p1!, ['Raw']);
    await answerPing(driver, p2!, ['Raw']);
    await answerPing(driver, p3!, ['Raw']);
    for (const ping of [p1!, p2!, p3!]) await answerPing(driver, ping, ['Direct', 'Tick']);
    await expect.poll(() => backend.counters.pongsAccepted).toBe(9);
    expect(backend.players[0]).toMatchObject({ inWorld: true });
    // each Ping carries a fresh id and the time it was sent
    const ids = [p1!, p2!, p3!].map((p) => value<{ id: number }>(p).id);
    expect(new Set(ids).size).toBe(3);
    expect(value<{ time: { seconds: bigint } }>(p2!).time.seconds).toBe(BigInt(Math.floor((clock.now() - 1000) / 1000)));
  });

  it('a Pong that is not the head of its FIFO: "Internal server error!", code 4', async () => {
    const clock = new ManualClock();
    const { backend, driver } = await start({ clock });
    await join(driver);
    await clock.advance(1000);
    const [, p2] = await driver.waitFor('Ping', 2);
    await answerPing(driver, p2!, ['Raw']); // the head is the first ping
    expect(value(await driver.next('Disconnect'))).toEqual({ reason: 'Internal server error!', type: 'Disconnect' });
    expect(await driver.closed).toMatchObject({ code: 4 });
    const expectedId = value<{ id: number }>(driver.all('Ping')[0]!).id;
    expect(backend.events.find((e) => e.type === 'pong-mismatch')).toMatchObject({ pongType: 'Raw', expected: expectedId, received: value<{ id: number }>(p2!).id });
    expect(await backend.allPlayers[0]!.closed).toMatchObject({ kind: 'internal-error', closeCode: 4 });
  });

  it('a Pong for no Ping at all (e.g. one a proxy forwards from another backend) disconnects the same way', async () => {
    const { backend, driver } = await start();
    await join(driver);
    const ping = await driver.next('Ping');
    await answerPing(driver, ping);
    await driver.send('Pong', { id: 12345, time: null, type: 'Direct', packetQueueSize: 0 });
    expect(value(await driver.next('Disconnect'))).toMatchObject({ reason: 'Internal server error!' });
    expect(backend.events.find((e) => e.type === 'pong-mismatch')).toMatchObject({ pongType: 'Direct', expected: undefined, received: 12345 });
  });

  it('pings start only in the world', async () => {
    const clock = new ManualClock();
    const { driver } = await start({ clock });
    await join(driver, { until: 'join-world' });
    await clock.advance(5000);
    expect(driver.names()).not.toContain('Ping');
  });
});

describe('referToServer', () => {
  it('sends ClientReferral as PlayerRef.referToServer does, and keeps the connection', async () => {
    const { backend, driver } = await start();
    await join(driver);
    const data = new TextEncoder().encode('ticket-bytes');
    await backend.referToServer(PLAYER_UUID, { host: 'game.example', port: 40000, data });
    const referral = value<{ hostTo: { host: string; port: number }; data: Uint8Array }>(await driver.next('ClientReferral'));
    expect(referral.hostTo.host).toBe('game.example');
    expect(referral.hostTo.port).toBe(40000 - 65536); // the server's (short) cast
    expect(portFromWire(referral.hostTo.port)).toBe(40000);
    expect(new TextDecoder().decode(referral.data)).toBe('ticket-bytes');
    expect(backend.players[0]).toMatchObject({ inWorld: true });
    expect(backend.events.at(-1)).toMatchObject({ type: 'referral', host: 'game.example', port: 40000, dataBytes: 12 });
  });

  it('refuses bad targets and unknown players with typed errors', async () => {
    const { backend, driver } = await start();
    await join(driver);
    await expect(backend.referToServer(PLAYER_UUID, { host: '', port: 1 })).rejects.toMatchObject({ code: 'ERR_TESTKIT_INVALID_ARGUMENT' });
    await expect(backend.referToServer(PLAYER_UUID, { host: 'a', port: 70000 })).rejects.toMatchObject({ code: 'ERR_TESTKIT_INVALID_ARGUMENT' });
    await expect(backend.referToServer(PLAYER_UUID, { host: 'a', port: 1, data: new Uint8Array(4097) })).rejects.toMatchObject({
      code: 'ERR_TESTKIT_INVALID_ARGUMENT',
    });
    await expect(backend.referToServer('ffffffff-4455-6677-8899-aabbccddeeff', { host: 'a', port: 1 })).rejects.toMatchObject({
      code: 'ERR_TESTKIT_UNKNOWN_PLAYER',
    });
  });
});

describe('kick, stall, crash', () => {
  it('kick: Disconnect(reason), code 0, and the player leaves the others\' player list', async () => {
    const { net, backend, driver } = await start();
    await join(driver);
    const other = await Driver.connect(net, backend);
    open.push(other);
    const otherUuid = 'aaaaaaaa-4455-6677-8899-aabbccddeeff';
    await join(other, { connect: { uuid: otherUuid, username: 'Alice' } });
    // the first player learns of the second; the second gets both
    const added = await driver.waitFor('AddToServerPlayerList', 2);
    expect(value(added[1]!)).toEqual({ players: [{ uuid: otherUuid, username: 'Alice', worldUuid: null, ping: 0 }] });
    expect(value<{ players: { uuid: string }[] }>(other.all('AddToServerPlayerList')[0]!).players.map((p) => p.uuid)).toEqual([PLAYER_UUID, otherUuid]);

    await backend.kick(otherUuid, 'Go away');
    expect(value(await other.next('Disconnect'))).toEqual({ reason: 'Go away', type: 'Disconnect' });
    expect(await other.closed).toMatchObject({ code: 0 });
    expect(value(await driver.next('RemoveFromServerPlayerList'))).toEqual({ players: [otherUuid] });
    expect(backend.players.map((p) => p.clientUuid)).toEqual([PLAYER_UUID]);
  });

  it('stall: nothing is read, sent or timed out until resume; then it all happens', async () => {
    const clock = new ManualClock();
    const { backend, driver } = await start({ clock });
    await join(driver);
    await driver.waitFor('SetChunk', 9);
    await driver.waitFor('Ping');
    await driver.waitFor('ClearWorldMap');
    const seen = driver.received.length;
    backend.stall(PLAYER_UUID);
    await driver.send('ViewRadius', { value: 64 });
    await clock.advance(120_000); // twice the play timeout, 120 pings due
    expect(driver.received.length).toBe(seen);
    expect(backend.player(PLAYER_UUID)!.received.at(-1)!.name).toBe('ClientReady');
    backend.resume(PLAYER_UUID);
    await expect.poll(() => backend.player(PLAYER_UUID)?.received.at(-1)?.name).toBe('ViewRadius');
    await driver.waitFor('Ping', 2);
    expect(backend.player(PLAYER_UUID)).toMatchObject({ inWorld: true, stalled: false });
    expect(backend.events.filter((e) => e.type === 'stalled' || e.type === 'resumed').map((e) => e.type)).toEqual(['stalled', 'resumed']);
  });

  it('crash: every connection dropped without a Disconnect, the listener gone', async () => {
    const { net, backend, driver } = await start();
    await join(driver);
    await backend.crash();
    const info = await driver.closed;
    expect(driver.names()).not.toContain('Disconnect');
    expect(info.initiator).toBe('remote');
    expect(await backend.allPlayers[0]!.closed).toMatchObject({ kind: 'crash' });
    await backend.closed;
    await expect(net.dial({ address: backend.address, alpn: ['hytale/2'] })).rejects.toMatchObject({ code: 'ERR_TRANSPORT_CONNECT_REFUSED' });
    expect(() => backend.stall(PLAYER_UUID)).toThrow(expect.objectContaining({ code: 'ERR_TESTKIT_UNKNOWN_PLAYER' }));
  });
});

describe('worlds and assets', () => {
  it('two backends are told apart by world UUID, chunk content and entity ids', async () => {
    const a = await start({}, 'lobby-a');
    const b = await start({}, 'lobby-b');
    await join(a.driver);
    await join(b.driver);
    expect(a.backend.worldUuid).not.toBe(b.backend.worldUuid);
    const chunkA = chunkOwner(value<{ data: Uint8Array }>(await a.driver.next('SetChunk')).data);
    const chunkB = chunkOwner(value<{ data: Uint8Array }>(await b.driver.next('SetChunk')).data);
    expect(chunkA).toMatchObject({ backendId: 'lobby-a', worldUuid: a.backend.worldUuid });
    expect(chunkB).toMatchObject({ backendId: 'lobby-b', worldUuid: b.backend.worldUuid });
    expect(a.backend.player(PLAYER_UUID)!.clientId).not.toBe(b.backend.player(PLAYER_UUID)!.clientId);
    // the world UUID is stable for a backend id (a restart keeps it)
    const again = await createBackend({ id: 'lobby-a', transport: memory() });
    open.push(again);
    expect(again.worldUuid).toBe(a.backend.worldUuid);
  });

  it('streams exactly the requested assets, split in parts, and again on RequestAssets in play', async () => {
    const big = { name: 'Common/big.bin', bytes: Uint8Array.from({ length: 2500 }, (_, i) => i & 0xff) };
    const small = { name: 'Common/small.txt', bytes: new TextEncoder().encode('small') };
    const { backend, driver } = await start({ assets: [big, small], assetPartSize: 1000 });
    expect(backend.assets.map((a) => a.hash)).toEqual([assetHash(big.bytes), assetHash(small.bytes)]);
    await join(driver, { until: 'world-settings' });
    const unknown = { hash: 'f'.repeat(64), name: 'x' };
    await driver.send('RequestAssets', { assets: [{ hash: assetHash(big.bytes), name: big.name }, unknown] });
    await driver.next('WorldLoadFinished');
    expect(driver.names().slice(3)).toEqual([
      'AssetInitialize',
      ...Array.from({ length: 3 }, () => ['WorldLoadProgress', 'AssetPart']).flat(),
      'AssetFinalize',
      'RequestCommonAssetsRebuild',
      'WorldLoadProgress',
      'WorldLoadFinished',
    ]);
    const parts = driver.all('AssetPart').map((r) => value<{ part: Uint8Array }>(r).part);
    expect(Buffer.concat(parts)).toEqual(Buffer.from(big.bytes));
    expect(backend.events.find((e) => e.type === 'assets')).toMatchObject({ requested: 2, sent: 1, unknown: 1 });
    const progress = driver.all('WorldLoadProgress').slice(0, 3).map((r) => value<{ percentComplete: number; percentCompleteSubitem: number }>(r));
    expect(progress.map((p) => p.percentCompleteSubitem)).toEqual([33, 66, 100]);

    await driver.send('ViewRadius', { value: 192 });
    await driver.send('PlayerOptions', { skin: null });
    await driver.next('JoinWorld');
    await driver.send('ClientReady', { readyForChunks: true, readyForGameplay: false });
    await driver.next('SetClientId');
    await driver.send('RequestAssets', { assets: [{ hash: assetHash(small.bytes), name: small.name }] });
    await driver.waitFor('AssetFinalize', 2);
    await driver.waitFor('RequestCommonAssetsRebuild', 2);
  });

  it('packetLog follows a player over several connections; waitForEvent times out with a typed error', async () => {
    const { net, backend, driver } = await start();
    await join(driver);
    await driver.close();
    await backend.allPlayers[0]!.closed;
    const second = await Driver.connect(net, backend);
    open.push(second);
    await join(second);
    expect(backend.packetLog(PLAYER_UUID).map((r) => r.name)).toEqual([
      ...['Connect', 'RequestAssets', 'ViewRadius', 'PlayerOptions', 'ClientReady'],
      ...['Connect', 'RequestAssets', 'ViewRadius', 'PlayerOptions', 'ClientReady'],
    ]);
    await expect(backend.waitForEvent((e) => e.type === 'referral', { timeoutMs: 50 })).rejects.toMatchObject({ code: 'ERR_TESTKIT_TIMEOUT' });
    const mark = backend.eventCount;
    const later = backend.waitForEvent((e) => e.type === 'disconnected', { since: mark });
    await second.close();
    expect((await later).seq).toBeGreaterThanOrEqual(mark);
  });

  it("'frames' mode keeps a copy of every frame; 'count' mode keeps counters only", async () => {
    const frames = await start({ packetLog: 'frames' });
    await join(frames.driver);
    expect(frames.backend.packetLog(PLAYER_UUID).map((r) => Buffer.from(r.frame!))).toEqual(frames.driver.sent.map((b) => Buffer.from(b)));
    const count = await start({ packetLog: 'count' }, 'counted');
    await join(count.driver);
    expect(count.backend.packetLog(PLAYER_UUID)).toEqual([]);
    expect(count.backend.players[0]!.counters.packetsIn).toBe(5);
  });
});

describe('a peer that stops reading', () => {
  it('cannot hold a kick back: the close goes after 1 s of backend time', async () => {
    const clock = new ManualClock();
    const { randomBytes } = await import('node:crypto');
    const big = { name: 'Common/big.bin', bytes: new Uint8Array(randomBytes(1024 * 1024)) }; // incompressible
    const net = memory();
    const backend = await createBackend({ id: 'slow', transport: net, listen: { host: 'slow', port: 1 }, clock, assets: [big] });
    open.push(backend);
    const connection = await net.dial({ address: backend.address, alpn: ['hytale/2'] });
    const stream = await connection.openStream();
    const writer = stream.writable.getWriter();
    const { getGeneration } = await import('@handoff/protocol');
    const g3 = getGeneration('G3');
    const { connectPacket } = await import('./backend-support/driver.js');
    await writer.write(g3.packet('Connect').encodeFrame(connectPacket(g3)));
    await writer.write(g3.packet('RequestAssets').encodeFrame({ assets: [{ hash: backend.assets[0]!.hash, name: big.name }] }));
    // the client never reads: the asset stream fills the stream window and the backend's writes wait
    await backend.waitForEvent((e) => e.type === 'assets');
    let kicked = false;
    const kick = backend.kick(PLAYER_UUID, 'bye').then(() => (kicked = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(kicked).toBe(false);
    await clock.advance(1000);
    await kick;
    expect(await connection.closed).toMatchObject({ initiator: 'remote', code: 0 });
    expect(await backend.allPlayers[0]!.closed).toMatchObject({ kind: 'kick', reason: 'bye' });
  });

  it('a wait for an event that never comes ends when the backend closes', async () => {
    const { backend } = await start();
    const waiting = backend.waitForEvent((e) => e.type === 'referral', { timeoutMs: 60_000 });
    await backend.close();
    await expect(waiting).rejects.toMatchObject({ code: 'ERR_TESTKIT_BACKEND_CLOSED' });
    await expect(backend.waitForEvent(() => false)).rejects.toMatchObject({ code: 'ERR_TESTKIT_BACKEND_CLOSED' });
  });
});
