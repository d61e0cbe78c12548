/**
 * Bad input gets what the server gives it, never an exception out of the backend: malformed and
 * oversized frames, unknown ids, packets of the wrong direction or stage, floods.
 */
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { memory } from '@handoff/transport';
import { writeFrameHeader } from '@handoff/protocol';
import { PROTOCOL_VIOLATION_CLOSE, createBackend, type BackendInit } from '@handoff/testkit';
import { Driver, connectPacket, join, value } from './backend-support/driver.js';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close();
});

// nothing may escape the backend: no unhandled rejection, no uncaught exception
const escaped: unknown[] = [];
const onEscape = (error: unknown) => escaped.push(error);
beforeAll(() => {
  process.on('unhandledRejection', onEscape);
  process.on('uncaughtException', onEscape);
});
afterAll(() => {
  process.off('unhandledRejection', onEscape);
  process.off('uncaughtException', onEscape);
  expect(escaped).toEqual([]);
});

async function start(extra: Partial<BackendInit> = {}, generation = 'G3') {
  const net = memory();
  const backend = await createBackend({ id: 'lobby', transport: net, generation, listen: { host: 'lobby', port: 1 }, ...extra });
  open.push(backend);
  const driver = await Driver.connect(net, backend);
  open.push(driver);
  return { net, backend, driver };
}

function header(id: number, length: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(8 + payload.length);
  writeFrameHeader(out, 0, id, length);
  out.set(payload, 8);
  return out;
}

const violation = { initiator: 'remote', code: PROTOCOL_VIOLATION_CLOSE.code };

describe('frames the decoder refuses: the connection closes as a protocol violation, nothing sent', () => {
  it.each([
    ['a negative length', header(0, -1)],
    ['a length over the protocol maximum', header(0, 0x64000001)],
    ["a length over the packet's maximum (ClientReady: 2)", header(105, 3, new Uint8Array(3))],
    ['an unknown packet id', header(9999, 0)],
    ['a server-to-client packet (G3 registries are directional)', header(104, 18, new Uint8Array(18))],
  ])('%s', async (_name, bytes) => {
    const { backend, driver } = await start();
    await join(driver);
    const before = driver.received.length;
    await driver.sendRaw(bytes);
    expect(await driver.closed).toMatchObject(violation);
    expect(driver.received.slice(before).map((r) => r.name)).not.toContain('Disconnect');
    expect(await backend.allPlayers[0]!.closed).toMatchObject({ kind: 'protocol-violation', reason: undefined });
    expect(backend.counters.protocolViolations).toBe(1);
  });

  it('a Connect whose payload does not decode', async () => {
    const { driver } = await start();
    await driver.sendRaw(header(0, 4, Uint8Array.of(0xff, 1, 2, 3)));
    expect(await driver.closed).toMatchObject(violation);
  });

  it('a compressed packet that is not zstd (RequestAssets)', async () => {
    const { driver } = await start();
    await join(driver, { until: 'world-settings' });
    await driver.sendRaw(header(23, 6, Uint8Array.of(1, 2, 3, 4, 5, 6)));
    expect(await driver.closed).toMatchObject(violation);
  });

  it('a compressed opaque packet in play that is not zstd', async () => {
    const { driver, backend } = await start();
    await join(driver);
    const descriptor = [...driver.generation.registry.packets].find((p) => p.compressed && p.direction === 'ToServer' && p.name !== 'RequestAssets');
    if (descriptor === undefined) return; // G3 has none besides RequestAssets today
    await driver.sendRaw(header(descriptor.id, 4, Uint8Array.of(1, 2, 3, 4)));
    expect(await driver.closed).toMatchObject(violation);
    expect(backend.counters.protocolViolations).toBe(1);
  });

  it('the stream ends inside a frame: the server just sees the client go', async () => {
    const { backend, driver } = await start();
    await join(driver);
    await driver.sendRaw(header(108, 153).subarray(0, 12));
    await driver.close();
    expect(await backend.allPlayers[0]!.closed).toMatchObject({ kind: expect.stringMatching(/client-closed|connection-lost/) });
  });
});

describe('packets in the wrong stage', () => {
  it('before Connect: closed silently', async () => {
    const { driver, backend } = await start();
    await driver.send('ClientReady', { readyForChunks: true, readyForGameplay: false });
    expect(await driver.closed).toMatchObject(violation);
    expect(driver.received).toEqual([]);
    expect(await backend.allPlayers[0]!.closed).toMatchObject({ kind: 'unexpected-packet' });
  });

  it('in setup: "Protocol error: unexpected packet N"', async () => {
    const { driver } = await start();
    await join(driver, { until: 'world-settings' });
    await driver.send('ClientReady', { readyForChunks: true, readyForGameplay: false });
    expect(value(await driver.next('Disconnect'))).toEqual({ reason: 'Protocol error: unexpected packet 105', type: 'Disconnect' });
    expect(await driver.closed).toMatchObject({ code: 0 });
  });

  it('G2: a server-to-client id is no decoder error, but no handler takes it ("Protocol error: unexpected packet 104")', async () => {
    const { driver } = await start({}, 'G2');
    await join(driver, { until: 'world-settings' });
    await driver.send('JoinWorld', { clearWorld: true, fadeInOut: true, worldUuid: '00000000-0000-4000-8000-000000000000' });
    expect(value(await driver.next('Disconnect'))).toEqual({ reason: 'Protocol error: unexpected packet 104', type: 'Disconnect' });
  });

  it.each([
    ['PlayerOptions before RequestAssets', 'world-settings', 'PlayerOptions', { skin: null }],
    ['a second RequestAssets', 'assets', 'RequestAssets', { assets: [] }],
    ['a handshake packet in play (PlayerOptions)', undefined, 'PlayerOptions', { skin: null }],
    ['a second Connect in play', undefined, 'Connect', null],
  ] as const)('%s: "Internal server error!", code 4', async (_name, until, packet, body) => {
    const { driver, backend } = await start();
    await join(driver, until === undefined ? {} : { until });
    await driver.send(packet, (body ?? connectPacket(driver.generation)) as never);
    expect(value(await driver.next('Disconnect'))).toEqual({ reason: 'Internal server error!', type: 'Disconnect' });
    expect(await driver.closed).toMatchObject({ code: 4 });
    expect(await backend.allPlayers[0]!.closed).toMatchObject({ kind: 'internal-error' });
  });

  it('G2 in play: a server-to-client packet has no handler: "Internal server error!"', async () => {
    const { driver } = await start({}, 'G2');
    await join(driver);
    await driver.send('SetClientId', { clientId: 1 });
    expect(value(await driver.next('Disconnect'))).toMatchObject({ reason: 'Internal server error!' });
  });

  it('in play, any client-to-server packet is taken (movement, chat…) and logged', async () => {
    const { driver, backend } = await start();
    await join(driver);
    const movement = driver.generation.registry.byName('ClientMovement')!;
    for (let i = 0; i < 50; i++) await driver.sendRaw(header(movement.id, movement.maxSize, new Uint8Array(movement.maxSize).fill(i)));
    await expect.poll(() => backend.player('00112233-4455-6677-8899-aabbccddeeff')?.counters.packetsIn).toBe(55);
    expect(backend.players[0]).toMatchObject({ inWorld: true });
  });
});

describe('floods', () => {
  it("the server's rate limiter: beyond the burst, code 1", async () => {
    const { driver, backend } = await start({ rateLimit: { burst: 20, perSecond: 1 } });
    await join(driver);
    const movement = driver.generation.registry.byName('ClientMovement')!;
    const frame = header(movement.id, movement.maxSize, new Uint8Array(movement.maxSize));
    await driver.sendRaw(new Uint8Array(Buffer.concat(Array.from({ length: 30 }, () => Buffer.from(frame)))));
    expect(await driver.closed).toMatchObject({ code: 1 });
    expect(await backend.allPlayers[0]!.closed).toMatchObject({ kind: 'rate-limited', closeCode: 1 });
  });

  it('random bytes never break the backend; other players are unaffected', async () => {
    const { net, backend, driver } = await start({ rateLimit: false });
    await join(driver);
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.boolean(), async (bytes, connectFirst) => {
        const peer = await Driver.connect(net, backend);
        try {
          if (connectFirst) await peer.send('Connect', connectPacket(peer.generation, { uuid: '99999999-4455-6677-8899-aabbccddeeff' }));
          await peer.sendRaw(bytes);
          await peer.sendRaw(bytes);
          await peer.close();
        } finally {
          await peer.close();
        }
      }),
      { numRuns: 60 },
    );
    await expect.poll(() => backend.players.length).toBe(1);
    // the first player still plays
    await driver.send('ViewRadius', { value: 64 });
    await expect.poll(() => backend.players[0]!.received.at(-1)?.name).toBe('ViewRadius');
    expect(backend.players[0]).toMatchObject({ inWorld: true });
  });
});
