/**
 * The setup driver playing the client to simulated backends: the password, RequestAssets for exactly
 * what the client lacks, each asset policy, JoinWorld held with what came before it (and what follows
 * left on the link), the first join, and every way a step fails.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compressPayload, frameFromPayload, getGeneration, type WireFrame } from '@handoff/protocol';
import type { SimulatedBackend } from '@handoff/testkit';
import { createMemoryReplayStore } from '@handoff/tickets';
import {
  BackendDisconnectedError,
  connectBackend,
  createSetupDriver,
  createTicketPolicy,
  isProxyError,
  passwordHash,
  type AssetPolicy,
  type BackendConfig,
  type ConnectedBackend,
  type SetupDriverInit,
} from '@handoff/proxy-kit';
import {
  Closers,
  PLAYER,
  PROXY_ADDRESS,
  PROXY_ID,
  clientReady,
  configOf,
  logged,
  network,
  readUntil,
  recordFor,
  scriptedBackend,
  simulatedBackend,
  type Network,
  type ScriptIo,
} from './backend-fixtures.js';

const closers = new Closers();
let net: Network;
beforeEach(async () => {
  net = await network(closers);
});
afterEach(() => closers.closeAll());
const G3 = getGeneration('G3');
const names = (frames: readonly WireFrame[]) => frames.map((f) => f.descriptor.name);
/** An asset of random bytes (AssetPart is zstd-compressed: random bytes keep their size on the wire). */
const asset = (name: string, size: number) => ({ name: `Common/Test/${name}`, bytes: new Uint8Array(randomBytes(size)) });

/** Joins `b` through the proxy: a ticket, the link, a driver. */
async function join(b: SimulatedBackend, record = recordFor({ holds: b.assets }), driver: Partial<SetupDriverInit> = {}, config?: BackendConfig) {
  const target = config ?? (await configOf(b));
  const ticket = await createTicketPolicy({ proxyId: PROXY_ID, keyRing: net.proxyKeys, replayStore: createMemoryReplayStore(), backends: [target], backendKeys: {} }).issue({
    clientUuid: PLAYER,
    target: target.ref,
  });
  const link: ConnectedBackend = closers.add(await connectBackend(target, { record, ticket, proxyAddress: PROXY_ADDRESS }), (l) => l.close());
  return { link, record, driver: createSetupDriver({ link, record, ...driver }) };
}

/** A simulated backend that checks the proxy's tickets (of this test's network). */
function backend(init: Parameters<typeof simulatedBackend>[2]): Promise<SimulatedBackend> {
  return simulatedBackend(closers, net, init);
}

describe('auth', () => {
  it("answers the backend's password challenge with SHA-256(challenge ‖ password)", async () => {
    const b = await backend({ id: 'game', transport: 'quic', password: 'hunter2' });
    const config = { ...(await configOf(b)), password: 'hunter2' };
    const { driver } = await join(b, undefined, { password: config.password }, config);
    expect(await driver.auth()).toEqual({ password: 'accepted' });
    expect(b.events.filter((e) => e.type === 'password').map((e) => (e as { result: string }).result)).toEqual(['challenged', 'accepted']);
    const response = logged(b).find((p) => p.name === 'PasswordResponse')!;
    expect(G3.packet('PasswordResponse').decodeFrame(response.frame).hash).toHaveLength(32);
    expect(passwordHash(new Uint8Array([1, 2]), 'pw')).toEqual(passwordHash(new Uint8Array([1, 2]), 'pw'));
  });

  it('a rejected password fails at once (no retry with the same one); a challenge without a configured password fails too', async () => {
    const b = await backend({ id: 'game', transport: 'tcp', password: 'hunter2' });
    const wrong = await join(b, undefined, { password: 'letmein' });
    await expect(wrong.driver.auth()).rejects.toMatchObject({ code: 'ERR_PROXY_SETUP_PASSWORD', reason: 'rejected' });
    expect(logged(b).filter((p) => p.name === 'PasswordResponse')).toHaveLength(1);
    const none = await join(b);
    await expect(none.driver.auth()).rejects.toMatchObject({ code: 'ERR_PROXY_SETUP_PASSWORD', reason: 'no-password' });
  });

  it("a backend that refuses the player in setup surfaces its Disconnect reason; a setup redirect is ERR_PROXY_SETUP_REFERRED", async () => {
    const full = await backend({ id: 'full', transport: 'quic', onSetupConnect: () => ({ disconnect: 'The server is full' }) });
    const refused = await join(full).then(({ driver }) => driver.auth().catch((e: unknown) => e));
    expect(refused).toBeInstanceOf(BackendDisconnectedError);
    expect(refused).toMatchObject({ code: 'ERR_PROXY_SETUP_DISCONNECTED', backendReason: 'The server is full', disconnectType: 'Disconnect' });
    expect((refused as Error).message).toContain('The server is full');

    const redirect = await backend({ id: 'hub', transport: 'tcp', onSetupConnect: () => ({ refer: { host: '10.0.0.9', port: 5520, data: new TextEncoder().encode('secret-ticket') } }) });
    const referred = await join(redirect).then(({ driver }) => driver.auth().catch((e: unknown) => e));
    expect(referred).toMatchObject({ code: 'ERR_PROXY_SETUP_REFERRED', reason: 'referred' });
    expect(JSON.stringify(referred) + String((referred as Error).message)).not.toContain('secret-ticket');
  });

  it('first join: auth swallows ConnectAccept and hands WorldSettings back, so the client gets setup from the link', async () => {
    const b = await backend({ id: 'lobby', transport: 'quic' });
    const { link, driver } = await join(b);
    await driver.auth();
    const source = await link.channel('Default');
    expect(names([(await source.next())!, (await source.next())!])).toEqual(['WorldSettings', 'ServerInfo']);
    expect(b.player(PLAYER)!.stage).toBe('setup:assets-request');
  });

  it('B is not read while the migration pauses backend reads (an awaited hook)', async () => {
    const b = await backend({ id: 'game', transport: 'tcp' });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let asked = 0;
    const { driver, link } = await join(b, undefined, { reads: { whenReadable: () => (asked++, gate) } });
    const auth = driver.auth();
    await b.waitForEvent((e) => e.type === 'stage' && e.stage === 'setup:assets-request');
    expect(asked).toBe(1);
    expect(link.stats().demux!.queuedBytes['Default']).toBe(0);
    release();
    await expect(auth).resolves.toEqual({ password: 'none' });
  });
});

describe('sync', () => {
  it('requests exactly the assets the client lacks, then sends ViewRadius and PlayerOptions as captured', async () => {
    const assets = [asset('a', 100), asset('b', 200), asset('c', 300), asset('d', 400)];
    const b = await backend({ id: 'game', transport: 'quic', assets });
    // the client holds a and c (it answered a WorldSettings listing them), lacks b and d
    const { driver } = await join(b, recordFor({ holds: b.assets.filter((x) => x.name.endsWith('/a') || x.name.endsWith('/c')), viewRadius: 256 }), {
      assetPolicy: 'forward-after-cutover',
    });
    await driver.auth();
    const held = await driver.sync();
    const log = logged(b);
    const request = G3.packet('RequestAssets').decodeFrame(log.find((p) => p.name === 'RequestAssets')!.frame);
    const lacking = b.assets.filter((x) => x.name.endsWith('/b') || x.name.endsWith('/d'));
    expect(request.assets).toEqual(lacking.map((x) => ({ hash: x.hash, name: x.name })));
    expect(log.map((p) => p.name)).toEqual(['Connect', 'RequestAssets', 'ViewRadius', 'PlayerOptions']);
    expect(G3.packet('ViewRadius').decodeFrame(log[2]!.frame).value).toBe(256);
    expect(Buffer.from(log[3]!.frame).equals(Buffer.from(G3.packet('PlayerOptions').encodeFrame({ skin: null })))).toBe(true);
    expect(b.events.find((e) => e.type === 'assets')).toMatchObject({ requested: 2, sent: 2, unknown: 0 });
    expect(held.assets).toMatchObject({ policy: 'forward-after-cutover', required: 4, missing: 2, action: 'kept' });
  });

  const policies: Array<{ policy: AssetPolicy; lacks: boolean; outcome: 'refused' | 'kept' | 'dropped' }> = [
    { policy: 'require-identical', lacks: true, outcome: 'refused' },
    { policy: 'require-identical', lacks: false, outcome: 'dropped' },
    { policy: 'forward-after-cutover', lacks: true, outcome: 'kept' },
    { policy: 'forward-after-cutover', lacks: false, outcome: 'dropped' },
    { policy: 'swallow', lacks: true, outcome: 'dropped' },
  ];
  for (const { policy, lacks, outcome } of policies) {
    it(`asset policy ${policy}, client ${lacks ? 'lacking an asset' : 'holding every asset'}: ${outcome}`, async () => {
      const b = await backend({ id: 'game', transport: 'tcp', assets: [asset('a', 100), asset('big', 5000)], assetPartSize: 2048 });
      const holds = lacks ? b.assets.slice(0, 1) : b.assets;
      const { driver } = await join(b, recordFor({ holds }), { assetPolicy: policy });
      await driver.auth();
      if (outcome === 'refused') {
        const error = await driver.sync().catch((e: unknown) => e);
        expect(error).toMatchObject({ code: 'ERR_PROXY_SETUP_INCOMPATIBLE_ASSETS', reason: 'incompatible-assets' });
        expect((error as Error).message).toContain('1 of its 2 assets');
        // refused before anything was asked of B
        expect(logged(b).map((p) => p.name)).toEqual(['Connect']);
        return;
      }
      const held = await driver.sync();
      const requested = G3.packet('RequestAssets').decodeFrame(logged(b).find((p) => p.name === 'RequestAssets')!.frame).assets!;
      expect(requested.map((x) => x.name)).toEqual(lacks ? ['Common/Test/big'] : []);
      expect(held.assets).toMatchObject({ policy, required: 2, missing: lacks ? 1 : 0, action: outcome });
      if (outcome === 'kept') {
        // the hot-reload path: the asset's stream and the rebuild, never the loading screen
        expect(names(held.assetsAfterCutover)).toEqual(['AssetInitialize', 'AssetPart', 'AssetPart', 'AssetPart', 'AssetFinalize', 'RequestCommonAssetsRebuild']);
        expect(held.assets.droppedFrames).toBe(5); // 3 × WorldLoadProgress per part, the final WorldLoadProgress, WorldLoadFinished
      } else {
        expect(held.assetsAfterCutover).toEqual([]);
        expect(held.assets.droppedFrames).toBe(lacks ? 11 : 2); // and the asset's stream when it was not kept
      }
      expect(names(held.beforeJoin)).toEqual(['AddToServerPlayerList', 'ServerTags']);
    });
  }

  it("holds B's JoinWorld with what came before it for the client; what follows stays on the link in order", async () => {
    const b = await backend({ id: 'game', transport: 'quic' });
    const { driver, link } = await join(b);
    await driver.auth();
    const held = await driver.sync();
    expect(G3.packet('JoinWorld').decodeFrame(held.joinWorld)).toEqual({ clearWorld: false, fadeInOut: false, worldUuid: b.worldUuid });
    expect(names(held.beforeJoin)).toEqual(['AddToServerPlayerList', 'ServerTags']);
    const list = G3.packet('AddToServerPlayerList').decodeFrame(held.beforeJoin[0]!);
    expect(list.players?.map((p) => p.uuid)).toEqual([PLAYER]);
    expect(held.queued).toEqual({ Default: [], Chunks: [], WorldMap: [] });
    expect(held.heldBytes).toBe(held.beforeJoin.reduce((n, f) => n + f.bytes.byteLength, 0) + held.joinWorld.bytes.byteLength);
    expect(held.serverInfo).toMatchObject({ maxPlayers: expect.any(Number) });
    // B waits for ClientReady (its 30 s window runs); the client's, after the cutover, releases the rest
    expect(b.player(PLAYER)!.stage).toBe('play');
    await clientReady(link);
    const { before } = await readUntil(await link.channel('Default'), 'SetClientId');
    expect(names(before)).toEqual(['ViewRadius', 'SetEntitySeed']);
  });

  it('the asset definitions (Update*, UpdateTranslations) are kept with the asset stream, or dropped, by policy', async () => {
    for (const policy of ['forward-after-cutover', 'swallow'] as const) {
      const { config } = await scriptedBackend(closers, 'G2', (io) => playSetup(io, { definitions: true }), `defs-${policy}`);
      const record = recordFor({ generation: 'G2' });
      const link = closers.add(await connectBackend(config, { record, proxyAddress: PROXY_ADDRESS }), (l) => l.close());
      const driver = createSetupDriver({ link, record, assetPolicy: policy });
      await driver.auth();
      const held = await driver.sync();
      if (policy === 'forward-after-cutover') {
        expect(names(held.assetsAfterCutover)).toEqual(['AssetInitialize', 'AssetPart', 'AssetFinalize', 'RequestCommonAssetsRebuild', 'UpdateBlockTypes', 'UpdateTranslations']);
      } else {
        expect(held.assetsAfterCutover).toEqual([]);
      }
      expect(names(held.beforeJoin)).toEqual(['ServerTags']);
      // what the backend sent after JoinWorld is the link's, next in line
      expect((await (await link.channel('Default')).next())!.descriptor.name).toBe('SetClientId');
    }
  });

  it('held frames count against maxHeldBytes: over it, ERR_PROXY_SETUP_HOLD_LIMIT', async () => {
    const b = await backend({ id: 'game', transport: 'tcp', assets: [asset('big', 50_000)] });
    const { driver } = await join(b, recordFor({ holds: [] }), { assetPolicy: 'forward-after-cutover', maxHeldBytes: 10_000 });
    await driver.auth();
    await expect(driver.sync()).rejects.toMatchObject({ code: 'ERR_PROXY_SETUP_HOLD_LIMIT', reason: 'AssetPart' });
  });

  it('a stalled backend: the phase deadline aborts sync (ERR_PROXY_SETUP_ABORTED, the signal reason as cause)', async () => {
    const b = await backend({ id: 'game', transport: 'quic' });
    const { driver } = await join(b);
    await driver.auth();
    b.stall(PLAYER);
    const deadline = new AbortController();
    const sync = driver.sync({ signal: deadline.signal });
    const reason = new Error('Sync deadline');
    deadline.abort(reason);
    const error = await sync.catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_PROXY_SETUP_ABORTED', reason: 'sync', cause: reason });
    await expect(driver.sync()).rejects.toMatchObject({ code: 'ERR_PROXY_INVALID_ARGUMENT', reason: 'order' });
  });

  it('steps run in order, once; a record without PlayerOptions cannot be replayed', async () => {
    const b = await backend({ id: 'game', transport: 'tcp' });
    const { driver } = await join(b, recordFor({ holds: b.assets, playerOptions: false }));
    await expect(driver.sync()).rejects.toMatchObject({ code: 'ERR_PROXY_INVALID_ARGUMENT', reason: 'order' });
    await driver.auth();
    await expect(driver.auth()).rejects.toMatchObject({ code: 'ERR_PROXY_INVALID_ARGUMENT', reason: 'order' });
    await expect(driver.sync()).rejects.toMatchObject({ code: 'ERR_PROXY_SETUP_INCOMPLETE_RECORD', reason: 'no-player-options' });
    expect(logged(b).map((p) => p.name)).toEqual(['Connect']);
  });
});

describe('a backend that does not follow the server', () => {
  const cases: Array<{ name: string; script: (io: ScriptIo) => Promise<void>; step: 'auth' | 'sync'; code: string; reason?: string; message?: RegExp }> = [
    {
      name: 'a packet out of order',
      script: (io) => io.write(io.generation.packet('JoinWorld').encodeFrame({ clearWorld: false, fadeInOut: false, worldUuid: '0b1e4c2a-7d3f-4e5a-9c8b-1a2b3c4d5e6f' })),
      step: 'auth',
      code: 'ERR_PROXY_SETUP_UNEXPECTED_PACKET',
      reason: 'JoinWorld',
    },
    {
      name: 'the authenticated path (AuthGrant)',
      script: (io) => io.write(io.generation.packet('AuthGrant').encodeFrame({ authorizationGrant: 'grant', serverIdentityToken: 'token' })),
      step: 'auth',
      code: 'ERR_PROXY_SETUP_UNEXPECTED_PACKET',
      message: /insecure/,
    },
    {
      name: 'bytes that are not a frame',
      script: (io) => io.write(new Uint8Array([0xff, 0xff, 0xff, 0x7f, 0x00, 0x00, 0x00, 0x00])),
      step: 'auth',
      code: 'ERR_PROXY_BACKEND_PROTOCOL',
    },
    {
      name: 'a connection closed in setup',
      script: async (io) => {
        await playSetup(io, { until: 'accept' });
        await io.connection.close({ code: 0, reason: 'restarting' });
      },
      step: 'sync',
      code: 'ERR_PROXY_BACKEND_CLOSED',
    },
  ];
  for (const { name, script, step, code, reason, message } of cases) {
    it(`${name}: ${code}`, async () => {
      const { config } = await scriptedBackend(closers, 'G2', script);
      const record = recordFor({ generation: 'G2' });
      const link = closers.add(await connectBackend(config, { record, proxyAddress: PROXY_ADDRESS }), (l) => l.close());
      const driver = createSetupDriver({ link, record, assetPolicy: 'swallow' });
      if (step === 'sync') await driver.auth();
      const error = await (step === 'auth' ? driver.auth() : driver.sync()).catch((e: unknown) => e);
      expect(isProxyError(error)).toBe(true);
      expect(error).toMatchObject({ code, ...(reason === undefined ? {} : { reason }) });
      if (message) expect((error as Error).message).toMatch(message);
    });
  }
});

/**
 * The server's side of a join, scripted (G2, one stream): ConnectAccept, WorldSettings and ServerInfo;
 * on RequestAssets one asset, optionally two asset-definition packets, the loading screen; on
 * PlayerOptions ServerTags, JoinWorld and SetClientId.
 */
async function playSetup(io: ScriptIo, options: { readonly definitions?: boolean; readonly until?: 'accept' } = {}): Promise<void> {
  const g = io.generation;
  const opaque = (name: string, payload: Uint8Array) => {
    const descriptor = g.registry.byName(name)!;
    return frameFromPayload(descriptor.id, descriptor.compressed ? compressPayload(payload, 3) : payload);
  };
  await io.write(g.packet('ConnectAccept').encodeFrame({ passwordChallenge: null }));
  await io.write(g.packet('WorldSettings').encodeFrame({ worldHeight: 320, requiredAssets: [{ hash: 'e'.repeat(64), name: 'Common/x.bin' }] }));
  if (options.until === 'accept') return;
  await io.write(g.packet('ServerInfo').encodeFrame({ serverName: 'scripted', motd: null, maxPlayers: 10 }));
  for (let frame = await io.read(); frame !== null; frame = await io.read()) {
    if (frame.descriptor.name === 'RequestAssets') {
      await io.write(g.packet('AssetInitialize').encodeFrame({ asset: { hash: 'e'.repeat(64), name: 'Common/x.bin' }, size: 3 }));
      await io.write(g.packet('WorldLoadProgress').encodeFrame({ status: 'Common/x.bin', percentComplete: 100, percentCompleteSubitem: 100 } as never));
      await io.write(g.packet('AssetPart').encodeFrame({ part: new Uint8Array([1, 2, 3]) }));
      await io.write(g.packet('AssetFinalize').encodeFrame({}));
      await io.write(opaque('RequestCommonAssetsRebuild', new Uint8Array(0)));
      if (options.definitions) {
        await io.write(opaque('UpdateBlockTypes', new Uint8Array([0, 1, 2, 3])));
        await io.write(opaque('UpdateTranslations', new Uint8Array([0, 4, 5])));
      }
      await io.write(g.packet('WorldLoadFinished').encodeFrame({}));
    }
    if (frame.descriptor.name === 'PlayerOptions') {
      await io.write(g.packet('ServerTags').encodeFrame({ tags: new Map([['pvp', 1]]) }));
      await io.write(g.packet('JoinWorld').encodeFrame({ clearWorld: false, fadeInOut: false, worldUuid: '0b1e4c2a-7d3f-4e5a-9c8b-1a2b3c4d5e6f' }));
      await io.write(g.packet('SetClientId').encodeFrame({ clientId: 7 }));
    }
  }
}
