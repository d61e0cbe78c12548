/**
 * The strict client catches each way a peer breaks "seamless": a scripted server over real loopback
 * QUIC commits one fault per test, and the client must report exactly that violation (and nothing
 * when the same run is clean).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { chunkData } from '../src/backend/world.js';
import { connectStrictClient, type StrictClient, type ViolationKind } from '@handoff/testkit';
import { scriptedServer, type ScriptedPeer, type ScriptedServer } from './support/client-scripted-server.js';

const WORLD_A = '0a0a0a0a-0000-4000-8000-00000000000a';
const WORLD_B = '0b0b0b0b-0000-4000-8000-00000000000b';

const cleanup: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step().catch(() => {});
});

/** A client joined to world A of a scripted server; the server delivers to backend "A". */
async function joined(generation = 'G3'): Promise<{ server: ScriptedServer; peer: ScriptedPeer; client: StrictClient }> {
  const server = await scriptedServer({ generation });
  cleanup.push(() => server.close());
  const [client, peer] = await Promise.all([connectStrictClient({ address: server.address, generation }), server.accept()]);
  cleanup.push(() => client.close());
  peer.deliverTo('A', WORLD_A);
  await peer.playJoin(WORLD_A, 1);
  await client.inWorld();
  return { server, peer, client };
}

/** The world change a proxy performs: cut over to B, JoinWorld(clearWorld=true), SetClientId. */
async function changeWorld(peer: ScriptedPeer, client: StrictClient, clearWorld = true): Promise<void> {
  peer.deliverTo('B', WORLD_B);
  await peer.enterWorld(WORLD_B, 2, clearWorld);
  await client.worldChange();
}

/** A SetChunk of `world` (tagged as the simulated backend tags its chunks). */
function chunkOf(peer: ScriptedPeer, backend: string, world: string, x: number): void {
  peer.send('SetChunk', { x, y: 0, z: 0, localLight: null, globalLight: null, data: chunkData(backend, world, x, 0, 64) }, 'Chunks');
}

/** The client leaves, the scripted server sees the end of its stream, the logs are complete. */
async function leaveAndAccount(peer: ScriptedPeer, client: StrictClient): Promise<ViolationKind[]> {
  await client.leave();
  await peer.ended;
  client.account(peer.logs());
  return client.violations.map((v) => v.kind);
}

describe('a clean run', () => {
  it('reports nothing: world change with clearWorld and a new SetClientId, new chunks only, every Pong and movement delivered once', async () => {
    const { peer, client } = await joined();
    chunkOf(peer, 'A', WORLD_A, 0);
    client.sendMovement(5);
    peer.ping(1);
    await peer.receivedCount('Pong', 3);
    await peer.receivedCount('ClientMovement', 5);
    await changeWorld(peer, client);
    chunkOf(peer, 'B', WORLD_B, 1);
    await client.until(() => client.counters.chunksReceived >= 2);
    client.sendMovement(5);
    peer.ping(1);
    await peer.receivedCount('Pong', 6);
    expect(await leaveAndAccount(peer, client)).toEqual([]);
    const report = client.report();
    expect(report.seamless).toBe(true);
    expect(report.worlds.map((w) => [w.worldUuid, w.clearWorld, w.clientId])).toEqual([
      [WORLD_A, false, 1],
      [WORLD_B, true, 2],
    ]);
    expect(report.counters).toMatchObject({ connections: 1, reconnects: 0, worlds: 2, pings: 2, pongsSent: 6, movementSent: 10, chunksReceived: 2 });
    expect(peer.logs().map((l) => [l.backend, l.packets.length > 0])).toEqual([
      ['A', true],
      ['B', true],
    ]);
  });
});

describe('each violation, committed by a broken peer', () => {
  it('an auth or setup packet after the world entry', async () => {
    const { peer, client } = await joined();
    peer.send('WorldSettings', { worldHeight: 320, requiredAssets: [] });
    peer.send('ServerInfo', { serverName: 'B', motd: null, maxPlayers: 5 });
    await client.until(() => client.violations.length >= 2);
    expect(client.violations).toMatchObject([
      { kind: 'setup-after-world-entry', packet: 'WorldSettings', connection: 1, world: 1 },
      { kind: 'setup-after-world-entry', packet: 'ServerInfo' },
    ]);
    expect(await leaveAndAccount(peer, client)).toEqual(['setup-after-world-entry', 'setup-after-world-entry']);
    // a client in play does not act on it: no second RequestAssets
    expect(peer.received.filter((f) => f.name === 'RequestAssets')).toHaveLength(1);
  });

  it('a JoinWorld without clearWorld after the world entry', async () => {
    const { peer, client } = await joined();
    await changeWorld(peer, client, false);
    expect(client.violations).toMatchObject([{ kind: 'join-world-without-clear', worldUuid: WORLD_B, world: 2 }]);
    expect(await leaveAndAccount(peer, client)).toEqual(['join-world-without-clear']);
  });

  it('a chunk of the old world after the JoinWorld that left it (G3: the chunk names its world)', async () => {
    const { peer, client } = await joined('G3');
    chunkOf(peer, 'A', WORLD_A, 0);
    await client.until(() => client.counters.chunksReceived >= 1);
    await changeWorld(peer, client);
    chunkOf(peer, 'B', WORLD_B, 0);
    chunkOf(peer, 'A', WORLD_A, 1); // leaked from A after the cut-over
    await client.until(() => client.counters.chunksReceived >= 3);
    expect(client.violations).toMatchObject([{ kind: 'old-world-chunk', packet: 'SetChunk', chunkWorldUuid: WORLD_A, worldUuid: WORLD_B }]);
    expect(await leaveAndAccount(peer, client)).toEqual(['old-world-chunk']);
  });

  it('a chunk between a world change and its SetClientId (G2: one stream, so it can only be old)', async () => {
    const { peer, client } = await joined('G2');
    peer.deliverTo('B', WORLD_B);
    peer.send('JoinWorld', { clearWorld: true, fadeInOut: true, worldUuid: WORLD_B });
    await peer.expect('ClientReady');
    peer.send('SetChunk', { x: 4, y: 0, z: 4, localLight: null, globalLight: null, data: null });
    peer.send('SetClientId', { clientId: 2 });
    await client.worldChange();
    expect(client.violations).toMatchObject([{ kind: 'old-world-chunk', packet: 'SetChunk', worldUuid: WORLD_B }]);
    expect(await leaveAndAccount(peer, client)).toEqual(['old-world-chunk']);
  });

  it('an unanswered Ping: the Pongs never reach the backend', async () => {
    const { peer, client } = await joined();
    peer.setPolicy((frame, current) => (frame.name === 'Pong' ? [] : [current]));
    peer.ping(7);
    await peer.receivedCount('Pong', 3);
    const kinds = await leaveAndAccount(peer, client);
    expect(kinds).toEqual(['unanswered-ping', 'unanswered-ping', 'unanswered-ping']);
    expect(client.violations.map((v) => (v.kind === 'unanswered-ping' ? [v.pingId, v.pongType] : []))).toEqual([
      [7, 'Raw'],
      [7, 'Direct'],
      [7, 'Tick'],
    ]);
  });

  it('a lost packet: one movement packet reaches no backend', async () => {
    const { peer, client } = await joined();
    let movement = 0;
    peer.setPolicy((frame, current) => (frame.name === 'ClientMovement' && ++movement === 3 ? [] : [current]));
    client.sendMovement(5);
    await peer.receivedCount('ClientMovement', 5);
    expect(await leaveAndAccount(peer, client)).toEqual(['lost-packet']);
    const [lost] = client.violations;
    expect(lost).toMatchObject({ kind: 'lost-packet', packet: 'ClientMovement' });
    // it is the third movement packet the client sent after entering the world
    const sentBefore = 2; // ClientReady(readyForChunks), ClientReady(readyForGameplay)
    expect(lost?.kind === 'lost-packet' && lost.index).toBe(sentBefore + 2);
  });

  it('a duplicated client packet: delivered twice to one backend', async () => {
    const { peer, client } = await joined();
    let movement = 0;
    peer.setPolicy((frame, current) => (frame.name === 'ClientMovement' && ++movement === 2 ? [current, current] : [current]));
    client.sendMovement(4);
    await peer.receivedCount('ClientMovement', 4);
    expect(await leaveAndAccount(peer, client)).toEqual(['duplicated-packet']);
    expect(client.violations[0]).toMatchObject({ kind: 'duplicated-packet', packet: 'ClientMovement', copies: 2, backends: ['A'] });
  });

  it('a duplicated client packet: delivered to both backends around a migration', async () => {
    const { peer, client } = await joined();
    let movement = 0;
    peer.setPolicy((frame, current) => (frame.name === 'ClientMovement' && ++movement === 3 ? ['A', 'B'] : [current]));
    client.sendMovement(3);
    await peer.receivedCount('ClientMovement', 3);
    await changeWorld(peer, client);
    client.sendMovement(2);
    await peer.receivedCount('ClientMovement', 5);
    expect(await leaveAndAccount(peer, client)).toEqual(['duplicated-packet']);
    expect(client.violations[0]).toMatchObject({ kind: 'duplicated-packet', copies: 2, backends: ['A', 'B'] });
  });
});

describe('more faults the client reports', () => {
  it('a Pong delivered to the backend that did not send the Ping', async () => {
    const { peer, client } = await joined();
    peer.setPolicy((frame, current) => (frame.name === 'Pong' ? ['B'] : [current]));
    peer.deliverTo('A', WORLD_A);
    await peer.receivedCount('ClientReady', 2);
    peer.ping(3);
    await peer.receivedCount('Pong', 3);
    await changeWorld(peer, client);
    const kinds = await leaveAndAccount(peer, client);
    expect(kinds).toEqual(['misrouted-pong', 'misrouted-pong', 'misrouted-pong']);
  });

  it('a SetClientId without a JoinWorld, and a JoinWorld never followed by one', async () => {
    const { peer, client } = await joined();
    peer.send('SetClientId', { clientId: 9 });
    await client.until(() => client.violations.length === 1);
    peer.send('JoinWorld', { clearWorld: true, fadeInOut: true, worldUuid: WORLD_B });
    await peer.expect('ClientReady');
    peer.send('JoinWorld', { clearWorld: true, fadeInOut: true, worldUuid: WORLD_A });
    await client.until(() => client.violations.length === 2);
    expect(client.violations).toMatchObject([
      { kind: 'set-client-id-without-join-world', clientId: 9 },
      { kind: 'missing-set-client-id', worldUuid: WORLD_B },
    ]);
  });

  it('a Disconnect, and a connection closed under the player', async () => {
    const first = await joined();
    first.peer.send('Disconnect', { reason: 'Internal server error!', type: 'Disconnect' });
    await first.client.until(() => first.client.violations.length === 1);
    await first.peer.close();
    const report = await first.client.ended;
    expect(report.violations).toMatchObject([{ kind: 'disconnected', reason: 'Internal server error!' }]);
    expect(report.state).toBe('ended');

    const second = await joined();
    await second.peer.close();
    const closed = await second.client.ended;
    expect(closed.violations).toMatchObject([{ kind: 'connection-closed', initiator: 'remote', code: 0, reason: 'bye' }]);
    await expect(second.client.worldChange()).rejects.toMatchObject({ code: 'ERR_TESTKIT_CLIENT_CLOSED' });
  });

  it('an unreadable frame: the client reports it and closes', async () => {
    const { peer, client } = await joined();
    const bogus = new Uint8Array(8);
    new DataView(bogus.buffer).setInt32(4, 9999, true); // no such packet id
    peer.sendFrame(bogus);
    const report = await client.ended;
    expect(report.violations).toMatchObject([{ kind: 'protocol-error', code: 'ERR_PROTOCOL_UNKNOWN_PACKET', channel: 'Default' }]);
  });

  it('a stream a G3 client cannot have', async () => {
    const { peer, client } = await joined('G3');
    await peer.openUniStreams(); // two more uni streams: the first world entry already opened two
    peer.send('ClearWorldMap', {}, 'WorldMap');
    await client.until(() => client.violations.length >= 1);
    expect(client.violations[0]).toMatchObject({ kind: 'unexpected-stream', streamKind: 'uni' });
  });
});
