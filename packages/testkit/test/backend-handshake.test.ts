/**
 * The simulated backend's handshake, stage by stage, against the server's sequence (docs/testkit.md,
 * "The handshake, step by step") for every generation.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { memory } from '@handoff/transport';
import { chunkOwner, createBackend, frameDigest, type SimulatedBackend } from '@handoff/testkit';
import { Driver, PLAYER_UUID, answerPing, connectPacket, value } from './backend-support/driver.js';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close();
});

async function start(generation: string, extra: Record<string, unknown> = {}) {
  const net = memory();
  const backend = await createBackend({ id: `lobby-${generation.toLowerCase()}`, transport: net, generation, listen: { host: 'lobby', port: 5520 }, ...extra });
  open.push(backend);
  const driver = await Driver.connect(net, backend);
  open.push(driver);
  return { net, backend, driver };
}

const stages = (backend: SimulatedBackend) => backend.events.filter((e) => e.type === 'stage').map((e) => (e as { stage: string }).stage);

describe.each(['G1', 'G2', 'G3'])('handshake %s', (generation) => {
  it('answers each client step with the server packets, in the server order', async () => {
    const { backend, driver } = await start(generation);
    const g = driver.generation;

    // 1. Connect → ConnectAccept without a challenge (no password), then straight to setup
    await driver.send('Connect', connectPacket(g));
    expect(value(await driver.next())).toEqual({ passwordChallenge: null });
    expect(driver.pending().map((r) => r.name)).not.toContain('PasswordAccepted');

    // 2. setup: WorldSettings (height 320, the required assets), then ServerInfo
    const settings = value<{ worldHeight: number; requiredAssets: { hash: string; name: string }[] }>(await driver.next());
    expect(driver.received.at(-2)?.name ?? driver.received[1]!.name).toBe('WorldSettings');
    expect(settings.worldHeight).toBe(320);
    expect(settings.requiredAssets.map((a) => a.hash)).toEqual(backend.assets.map((a) => a.hash));
    const info = await driver.next();
    expect(info.name).toBe('ServerInfo');
    expect(value(info)).toMatchObject({ serverName: `Handoff test backend lobby-${generation.toLowerCase()}`, maxPlayers: 100 });

    // 3. RequestAssets(one of two) → exactly that asset's stream, then the world-load messages
    const wanted = settings.requiredAssets[1]!;
    await driver.send('RequestAssets', { assets: [wanted] });
    await driver.next('WorldLoadFinished');
    const setupNames = driver.received.slice(3).map((r) => r.name);
    expect(setupNames).toEqual([
      'AssetInitialize',
      'WorldLoadProgress',
      'AssetPart',
      'AssetFinalize',
      'RequestCommonAssetsRebuild',
      'WorldLoadProgress',
      'WorldLoadFinished',
    ]);
    const init = value<{ asset: { hash: string }; size: number }>(driver.all('AssetInitialize')[0]!);
    expect(init.asset.hash).toBe(wanted.hash);
    const part = value<{ part: Uint8Array }>(driver.all('AssetPart')[0]!);
    expect(Buffer.from(part.part)).toEqual(Buffer.from(backend.assets[1]!.bytes));
    expect(init.size).toBe(backend.assets[1]!.bytes.length);

    // 4. ViewRadius + PlayerOptions → player list, ServerTags, JoinWorld(false, false, this world)
    await driver.send('ViewRadius', { value: 192 });
    await driver.send('PlayerOptions', { skin: null });
    const join = value<{ clearWorld: boolean; fadeInOut: boolean; worldUuid: string }>(await driver.next('JoinWorld'));
    expect(join).toEqual({ clearWorld: false, fadeInOut: false, worldUuid: backend.worldUuid });
    const beforeJoin = driver.received.slice(10).map((r) => r.name);
    expect(beforeJoin).toEqual(['AddToServerPlayerList', 'ServerTags', 'JoinWorld']);
    expect(value(driver.all('AddToServerPlayerList')[0]!)).toEqual({
      players: [{ uuid: PLAYER_UUID, username: 'Bob', worldUuid: null, ping: 0 }],
    });
    // nothing of the world before ClientReady
    expect(driver.names()).not.toContain('SetClientId');
    expect(driver.names()).not.toContain('SetChunk');

    // 5. ClientReady(readyForChunks) → onFinishPlayerJoining, a first Ping, then the chunks
    await driver.send('ClientReady', { readyForChunks: true, readyForGameplay: false });
    await driver.waitFor('SetChunk', 9);
    await driver.waitFor('Ping');
    await driver.waitFor('ClearWorldMap');
    // G3: what goes on the Chunks and WorldMap streams is not ordered against the Default stream
    const after = driver.received.slice(13).filter((r) => generation !== 'G3' || r.channel === 'Default').map((r) => r.name);
    const defaultStream = [
      'ViewRadius',
      'SetEntitySeed',
      'SetClientId',
      'SetTimeDilation',
      'UpdateFeatures',
      'UpdateSunSettings',
      'UpdatePostFxSettings',
      'SetUpdateRate',
      'SetGameMode',
      'UpdateTimeSettings',
      'UpdateTime',
    ];
    const chunks = Array.from({ length: 9 }, () => 'SetChunk');
    expect(after).toEqual(generation === 'G3' ? [...defaultStream, 'Ping'] : [...defaultStream, 'ClearWorldMap', 'Ping', ...chunks]);
    expect(value(driver.all('ViewRadius')[0]!)).toEqual({ value: 12 * 32 });
    const clientId = value<{ clientId: number }>(driver.all('SetClientId')[0]!).clientId;
    expect(backend.player(PLAYER_UUID)).toMatchObject({ clientId, inWorld: true, stage: 'play', username: 'Bob' });
    // the chunks name this backend and its world
    const chunk = value<{ x: number; z: number; data: Uint8Array }>(driver.all('SetChunk')[0]!);
    expect(chunkOwner(chunk.data)).toEqual({ backendId: backend.id, worldUuid: backend.worldUuid, x: chunk.x, z: chunk.z });

    // G3 splits the channels over the server's uni streams (Chunks, then WorldMap); older generations use one stream
    if (generation === 'G3') {
      expect(driver.received.filter((r) => r.name === 'SetChunk').every((r) => r.channel === 'Chunks')).toBe(true);
      expect(driver.all('ClearWorldMap')[0]!.channel).toBe('WorldMap');
      expect(driver.streamOrder.map((s) => s.id)).toEqual([0, 3, 7]);
    } else {
      expect(new Set(driver.received.map((r) => r.streamId))).toEqual(new Set([0]));
    }

    // 6. ClientReady(readyForGameplay), pings answered: the backend logged every packet, in order
    await driver.send('ClientReady', { readyForChunks: false, readyForGameplay: true });
    await answerPing(driver, driver.all('Ping')[0]!);
    await backend.waitForEvent((e) => e.type === 'ready-for-gameplay');
    await expect.poll(() => backend.counters.pongsAccepted).toBe(3);
    const log = backend.packetLog(PLAYER_UUID);
    expect(log.map((r) => r.name)).toEqual([
      'Connect',
      'RequestAssets',
      'ViewRadius',
      'PlayerOptions',
      'ClientReady',
      'ClientReady',
      'Pong',
      'Pong',
      'Pong',
    ]);
    expect(log.map((r) => r.digest)).toEqual(driver.sent.map((bytes) => frameDigest(bytes)));
    expect(log.map((r) => r.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(log.map((r) => r.stage)).toEqual([
      'initial',
      'setup:assets-request',
      'setup:send-assets',
      'setup:send-assets',
      'play',
      'play',
      'play',
      'play',
      'play',
    ]);

    // the stages the server walks through, and the player's events
    expect(stages(backend)).toEqual(['setup:world-settings', 'setup:assets-request', 'setup:send-assets', 'setup:add-to-universe', 'play']);
    expect(backend.player(PLAYER_UUID)!.events.map((e) => e.type)).toEqual([
      'connected',
      'connect',
      'stage',
      'ticket',
      'stage',
      'assets',
      'stage',
      'stage',
      'stage',
      'join-world',
      'ready',
      'ready-for-gameplay',
    ]);
    expect(backend.counters).toMatchObject({ connections: 1, connects: 1, joined: 1, ready: 1, pingsSent: 1, pongsAccepted: 3 });
  });

  it('closes on the client Disconnect with code 0', async () => {
    const { backend, driver } = await start(generation);
    await driver.send('Connect', connectPacket(driver.generation));
    await driver.next('ServerInfo');
    await driver.send('Disconnect', { reason: 'bye', type: 'Disconnect' });
    expect(await driver.closed).toMatchObject({ initiator: 'remote', code: 0 });
    const gone = await backend.allPlayers[0]!.closed;
    expect(gone).toMatchObject({ type: 'disconnected', kind: 'client-disconnect', reason: 'bye', closeCode: 0 });
    expect(backend.players).toEqual([]);
  });
});

describe('password challenge', () => {
  it('asks for SHA-256(challenge ‖ password) and goes on with PasswordAccepted', async () => {
    const { backend, driver } = await start('G3', { password: 'hunter2' });
    await driver.send('Connect', connectPacket(driver.generation));
    const { passwordChallenge } = value<{ passwordChallenge: Uint8Array }>(await driver.next('ConnectAccept'));
    expect(passwordChallenge).toHaveLength(32);
    const { createHash } = await import('node:crypto');
    await driver.send('PasswordResponse', { hash: new Uint8Array(createHash('sha256').update(passwordChallenge).update('hunter2').digest()) });
    expect((await driver.next()).name).toBe('PasswordAccepted');
    expect((await driver.next()).name).toBe('WorldSettings');
    expect(stages(backend)[0]).toBe('password');
    expect(backend.events.filter((e) => e.type === 'password').map((e) => (e as { result: string }).result)).toEqual(['challenged', 'accepted']);
  });
});
