/** What the capture tap records from which packet, in every generation, and what it leaves alone. */
import { FRAME_HEADER_SIZE, getGeneration, readFrame } from '@handoff/protocol';
import type { BackendRef, Phase, SessionId } from '@handoff/types';
import { describe, expect, it } from 'vitest';
import { SessionRecord, buildPlayerOptionsFrame, createCaptureTap, isSessionError } from '@handoff/session';
import {
  ACCESS_TOKEN,
  AUTH_GRANT,
  G1,
  G2,
  G3,
  IDENTITY_TOKEN,
  OTHER_PLAYER,
  PLAYER,
  REFERRAL_DATA,
  SERVER_ACCESS_TOKEN,
  SERVER_AUTH_GRANT,
  SERVER_IDENTITY_TOKEN,
  WORLD_A,
  assets,
  backend,
  bid,
  connectV1,
  connectV2,
  frame,
  hash,
  mid,
  ping,
  rawFrame,
  setChunk,
  sid,
} from './support/frames.js';
import { SKIN, playSession } from './support/scenario.js';

describe('a whole session (G3)', () => {
  const record = new SessionRecord({ id: sid('s1'), backend: backend('lobby-1', 'lobby') });
  const tap = createCaptureTap(record);
  playSession(tap);

  it('captures the Connect fields', () => {
    expect(record.connect).toEqual({
      generation: 'G3',
      protocolHash: null,
      protocolCrc: G3.identify.protocolCrc,
      protocolBuildNumber: 20,
      clientVersion: '1.0',
      clientType: 'Game',
      clientUuid: PLAYER,
      username: 'Bob',
      language: 'en',
      referralSource: { host: 'lobby.example', port: 5520 },
    });
    expect(record.clientUuid).toBe(PLAYER);
    expect(record.ref).toEqual({ id: 's1', clientUuid: PLAYER });
    expect(tap.generation?.id).toBe('G3');
    expect(record.generation).toBe(G3);
    expect(record.pings.generation).toBe(G3);
  });

  it('keeps every token, grant and the referral data as secrets', () => {
    expect(record.secret('identityToken')).toBe(IDENTITY_TOKEN);
    expect(record.secret('referralData')).toEqual(REFERRAL_DATA);
    expect(record.secret('authorizationGrant')).toBe(AUTH_GRANT);
    expect(record.secret('serverIdentityToken')).toBe(SERVER_IDENTITY_TOKEN);
    expect(record.secret('accessToken')).toBe(ACCESS_TOKEN);
    expect(record.secret('serverAuthorizationGrant')).toBe(SERVER_AUTH_GRANT);
    expect(record.secret('serverAccessToken')).toBe(SERVER_ACCESS_TOKEN);
    expect(record.secretNames()).toHaveLength(7);
  });

  it('captures setup: ServerInfo, WorldSettings, ViewRadius both ways, PlayerOptions bytes, language', () => {
    expect(record.serverInfo).toEqual({ serverName: 'Lobby', motd: 'Welcome', maxPlayers: 100 });
    expect(record.worldSettings).toEqual({ worldHeight: 320, requiredAssets: 50 });
    expect(record.viewRadius).toEqual({ client: 192, server: 384 });
    const replay = buildPlayerOptionsFrame(record)!;
    expect(G3.packet('PlayerOptions').decodeFrame(replay).skin).toMatchObject(SKIN);
    expect(replay).toEqual(G3.packet('PlayerOptions').encodeFrame({ skin: SKIN }));
    expect(record.language).toBe('fr');
  });

  it('knows which assets the client holds: required minus requested, plus received', () => {
    // required 0..49, requested 0..4, received 0..4: it holds all 50
    for (let i = 0; i < 50; i++) expect(record.assets.has(hash(i))).toBe(true);
    expect(record.assets.has(hash(50))).toBe(false);
    expect(record.assets.missingFrom(assets(45, 10)).map((a) => a.hash)).toEqual(assets(50, 5).map((a) => a.hash));
  });

  it('captures world entry, chunk columns (not sections) and the player list', () => {
    expect(record.joinWorld).toEqual({ worldUuid: WORLD_A, clearWorld: false, fadeInOut: false });
    expect(record.clientId).toBe(42);
    expect(record.worldJoins).toBe(1);
    expect(record.chunks.size).toBe(9); // 3 × 3 columns, 2 sections each
    expect(record.chunks.has(-1, 1)).toBe(true);
    expect(record.playerList.uuids()).toEqual([PLAYER, OTHER_PLAYER]);
    expect(record.playerList.has(OTHER_PLAYER)).toBe(true);
  });

  it('records the Ping for its backend and reports no error', () => {
    expect(record.pings.outstanding).toBe(1);
    expect(record.pings.lookup(1234, 'Raw')).toBe('lobby-1');
    expect(tap.errors).toEqual([]);
    expect(tap.counters.errors).toBe(0);
  });
});

describe('Connect layouts', () => {
  it('G1: protocol hash, nullable language, editor client', () => {
    const record = new SessionRecord();
    const tap = createCaptureTap(record);
    expect(tap.clientToServer(connectV1())).toBeUndefined();
    expect(record.connect).toMatchObject({
      generation: 'G1',
      protocolHash: G1.identify.protocolHash,
      protocolCrc: null,
      protocolBuildNumber: null,
      clientVersion: null,
      clientType: 'Editor',
      username: 'Alice',
      language: null,
      referralSource: null,
    });
    expect(record.secret('identityToken')).toBe(IDENTITY_TOKEN);
    expect(record.hasSecret('referralData')).toBe(false);
    expect(record.language).toBeUndefined();
  });

  it('G2: CRC identifies it; a referral port over 32767 is read unsigned', () => {
    const record = new SessionRecord();
    const tap = createCaptureTap(record);
    tap.clientToServer(connectV2(G2, { identityToken: null, referralSource: { host: 'b', port: -5536 } }));
    expect(record.connect).toMatchObject({ generation: 'G2', protocolCrc: G2.identify.protocolCrc, referralSource: { host: 'b', port: 60000 } });
    expect(record.hasSecret('identityToken')).toBe(false);
  });

  it('every generation captures the same packets from the same ids', () => {
    for (const g of [G1, G2, G3]) {
      const record = new SessionRecord({ backend: backend('a') });
      const tap = createCaptureTap(record);
      tap.clientToServer(g === G1 ? connectV1() : connectV2(g));
      tap.serverToClient(frame(g, 'JoinWorld', { clearWorld: true, fadeInOut: true, worldUuid: WORLD_A }));
      tap.serverToClient(setChunk(g, 5, 0, -7));
      tap.serverToClient(frame(g, 'UnloadChunk', { chunkX: 9, chunkZ: 9 }));
      expect(record.joinWorld?.clearWorld).toBe(true);
      expect(record.chunks.toArray()).toEqual([{ x: 5, z: -7 }]);
      expect(tap.errors).toEqual([]);
    }
  });
});

describe('what the tap leaves alone', () => {
  const connected = () => {
    const record = new SessionRecord({ backend: backend('a') });
    const tap = createCaptureTap(record);
    tap.clientToServer(connectV2());
    return { record, tap };
  };

  it('never decodes a packet it does not capture: garbage payloads of opaque and uncaptured modelled packets pass silently', () => {
    const { tap } = connected();
    const before = tap.counters.captured;
    const junk = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    // EntityUpdates (compressed, opaque), ClientReady and ClientReferral (modelled, not captured), Disconnect
    expect(tap.serverToClient(rawFrame(G3, 'EntityUpdates', junk))).toBeUndefined();
    expect(tap.serverToClient(rawFrame(G3, 'ClientReferral', junk))).toBeUndefined();
    expect(tap.clientToServer(rawFrame(G3, 'ClientReady', new Uint8Array([1, 1])))).toBeUndefined();
    expect(tap.clientToServer(rawFrame(G3, 'Disconnect', junk))).toBeUndefined();
    expect(tap.clientToServer(rawFrame(G3, 'ClientMovement', junk))).toBeUndefined();
    expect(tap.counters.captured).toBe(before);
    expect(tap.counters.errors).toBe(0);
    expect(tap.counters.clientFrames).toBe(4);
    expect(tap.counters.serverFrames).toBe(2);
  });

  it('tracks no chunks when told not to (no decompression)', () => {
    const record = new SessionRecord({ backend: backend('a') });
    const tap = createCaptureTap(record, { trackChunks: false });
    tap.clientToServer(connectV2());
    tap.serverToClient(rawFrame(G3, 'SetChunk', new Uint8Array([1, 2, 3]))); // corrupt, never read
    expect(record.chunks.size).toBe(0);
    expect(tap.errors).toEqual([]);
  });

  it('accepts the generation up front and refuses a Connect of another one', () => {
    const tap = createCaptureTap(new SessionRecord(), { generation: 'G2' });
    const result = tap.clientToServer(connectV2(G3));
    expect(result?.kind).toBe('error');
    expect(result?.kind === 'error' && result.error.code).toBe('ERR_SESSION_CONNECT_INVALID');
    expect(result?.kind === 'error' && result.error.reason).toBe('generation-mismatch');
  });
});

describe('assets across a second WorldSettings and interning', () => {
  it('shares one required list between sessions that received the same WorldSettings', () => {
    const ws = frame(G3, 'WorldSettings', { worldHeight: 256, requiredAssets: assets(1000, 200) });
    const a = new SessionRecord();
    const b = new SessionRecord();
    for (const record of [a, b]) {
      const tap = createCaptureTap(record);
      tap.clientToServer(connectV2());
      tap.serverToClient(readFrame(G3.registry, ws.bytes.slice()));
      tap.clientToServer(frame(G3, 'RequestAssets', { assets: [] }));
    }
    expect(a.assets.required).toBe(b.assets.required);
    expect(a.worldSettings).toEqual({ worldHeight: 256, requiredAssets: 200 });
    expect(b.assets.has(hash(1100))).toBe(true);
  });

  it('before the client answers a WorldSettings it holds nothing of it; assets pushed later are held', () => {
    const record = new SessionRecord();
    const tap = createCaptureTap(record);
    tap.clientToServer(connectV2());
    tap.serverToClient(frame(G3, 'WorldSettings', { worldHeight: 320, requiredAssets: assets(0, 3) }));
    expect(record.assets.has(hash(0))).toBe(false);
    tap.clientToServer(frame(G3, 'RequestAssets', { assets: assets(0, 1) }));
    expect(record.assets.has(hash(0))).toBe(false); // requested, not yet received
    expect(record.assets.has(hash(1))).toBe(true);
    tap.serverToClient(frame(G3, 'AssetInitialize', { asset: { hash: hash(0), name: 'a' }, size: 1 }));
    tap.serverToClient(frame(G3, 'AssetInitialize', { asset: { hash: hash(99), name: 'hot-reload' }, size: 1 }));
    expect(record.assets.has(hash(0))).toBe(true);
    expect(record.assets.has(hash(99))).toBe(true);
  });
});

describe('the record outside the tap', () => {
  it('bounds the migration history and moves the backend on a successful migration', () => {
    const record = new SessionRecord({ backend: backend('a'), limits: { migrationHistory: 2 }, now: () => 1000 });
    record.recordMigration({ migrationId: mid('m1'), source: backend('a'), target: backend('b'), outcome: 'rolled-back', phase: 'Sync', reason: 'ERR_MIGRATION_DEADLINE' });
    expect(record.backend).toEqual({ id: 'a' });
    record.recordMigration({ migrationId: mid('m2'), source: backend('a'), target: backend('b', 'game'), outcome: 'migrated' });
    record.recordMigration({ migrationId: mid('m3'), source: backend('b'), target: backend('c'), outcome: 'refused' });
    expect(record.backend).toEqual({ id: 'b', pool: 'game' });
    expect(record.migrations.map((m) => m.migrationId)).toEqual(['m2', 'm3']);
    expect(record.migrations[0]).toEqual({ migrationId: 'm2', source: { id: 'a' }, target: { id: 'b', pool: 'game' }, outcome: 'migrated', at: 1000 });
    expect(JSON.parse(JSON.stringify(record)).migrations[1]).toEqual({ migrationId: 'm3', source: { id: 'b' }, target: { id: 'c' }, outcome: 'refused', at: 1000 });
  });

  it('rejects invalid limits, ids, backends and phases with a typed error, the parser error as its cause', () => {
    const invalid = (run: () => unknown) => {
      let error: unknown;
      try {
        run();
      } catch (e) {
        error = e;
      }
      expect(isSessionError(error, 'ERR_SESSION_INVALID_ARGUMENT'), String(error)).toBe(true);
      return error as Error;
    };
    invalid(() => new SessionRecord({ limits: { chunkColumns: -1 } }));
    expect(invalid(() => new SessionRecord({ id: '' as SessionId })).cause).toMatchObject({ code: 'ERR_TYPES_INVALID_ID' });
    invalid(() => new SessionRecord({ backend: { id: 'has space' } as unknown as BackendRef }));
    const record = new SessionRecord();
    invalid(() => record.setPhase('Warp' as Phase));
    invalid(() => record.setBackend({ id: '' } as unknown as BackendRef));
    invalid(() => record.recordMigration({ migrationId: mid('m'), source: backend('a'), target: backend('b'), outcome: 'rolled-back', phase: 'Nope' as Phase }));
    expect(record.phase).toBe('Idle');
    record.setPhase('Freeze');
    expect(record.snapshot().phase).toBe('Freeze');
  });

  it('keeps a copy of PlayerOptions: the frame buffer can be reused', () => {
    const record = new SessionRecord();
    const tap = createCaptureTap(record);
    tap.clientToServer(connectV2());
    const f = frame(G3, 'PlayerOptions', { skin: SKIN });
    tap.clientToServer(f);
    f.bytes.fill(0);
    expect(G3.packet('PlayerOptions').decode(record.playerOptions!).skin).toMatchObject(SKIN);
    expect(record.playerOptions!.length).toBe(f.bytes.length - FRAME_HEADER_SIZE);
  });

  it('picks the generation for replay frames from the Connect', () => {
    const record = new SessionRecord();
    expect(() => buildPlayerOptionsFrame(record)).not.toThrow(); // nothing captured: undefined
    record.setPlayerOptions(G1.packet('PlayerOptions').encode({ skin: null }));
    expect(() => buildPlayerOptionsFrame(record)).toThrow(expect.objectContaining({ code: 'ERR_SESSION_INVALID_ARGUMENT' }));
    expect(buildPlayerOptionsFrame(record, getGeneration('G1'))).toBeInstanceOf(Uint8Array);
  });

  it('records a Ping for the backend named by its id or reference or, without one, for the record backend', () => {
    const record = new SessionRecord({ backend: backend('a') });
    const tap = createCaptureTap(record);
    tap.clientToServer(connectV2());
    tap.serverToClient(ping(G3, 1), backend('b', 'games'));
    tap.serverToClient(ping(G3, 2));
    tap.serverToClient(ping(G3, 3), bid('c'));
    expect(record.pings.lookup(1, 'Tick')).toBe('b');
    expect(record.pings.lookup(2, 'Tick')).toBe('a');
    expect(record.pings.lookup(3, 'Tick')).toBe('c');
  });
});

describe('captures(direction, id): which packets the tap takes data from', () => {
  it('names exactly the captured packets of the known generation, per direction', () => {
    const record = new SessionRecord({ id: sid('s-captures'), backend: backend('lobby-1', 'lobby') });
    const tap = createCaptureTap(record, { generation: 'G3' });
    const id = (name: string) => G3.registry.byName(name as never)!.id;
    for (const name of ['Connect', 'RequestAssets', 'ViewRadius', 'PlayerOptions', 'Pong']) expect(tap.captures('ToServer', id(name))).toBe(true);
    for (const name of ['JoinWorld', 'SetClientId', 'SetChunk', 'UnloadChunk', 'Ping', 'WorldSettings', 'AddToServerPlayerList']) {
      expect(tap.captures('ToClient', id(name))).toBe(true);
    }
    for (const name of ['ClientReady', 'Disconnect']) expect(tap.captures('ToServer', id(name))).toBe(false);
    expect(tap.captures('ToClient', id('ServerTags'))).toBe(false);
    expect(tap.captures('ToServer', id('JoinWorld'))).toBe(false); // a server packet, from the client: not captured
    expect(tap.captures('ToClient', -1)).toBe(false);
    expect(tap.captures('ToClient', 1_000_000)).toBe(false);
  });
});
