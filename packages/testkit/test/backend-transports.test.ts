/**
 * The simulated backend over real sockets on loopback: QUIC (ALPN per generation, the client
 * certificate required, mTLS to the proxy, G3's server-opened uni streams) and TCP (one stream).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createDevCa, createSelfSignedCertificate, quic } from '@handoff/transport-quic';
import { tcp } from '@handoff/transport-tcp';
import { chunkOwner, createBackend, type BackendInit } from '@handoff/testkit';
import { Driver, PLAYER_UUID, answerPing, join, value } from './backend-support/driver.js';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) await thing.close();
});

async function quicBackend(extra: Partial<BackendInit> = {}) {
  const backend = await createBackend({ id: 'quic-lobby', transport: 'quic', ...extra });
  open.push(backend);
  return backend;
}

describe('QUIC', () => {
  it('G3: hytale/2, a self-signed server certificate to pin, any client certificate, Chunks then WorldMap uni streams', async () => {
    const backend = await quicBackend();
    expect(backend.transport).toBe('quic');
    expect(backend.certificateFingerprint).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const certificate = await createSelfSignedCertificate({ commonName: 'player' });
    const driver = await Driver.connect(quic(), backend, {
      dial: { certificate, serverTrust: { fingerprints: [backend.certificateFingerprint!] }, idleTimeout: 10_000 },
    });
    open.push(driver);
    expect(driver.connection.alpn).toBe('hytale/2');
    await join(driver);
    await driver.waitFor('SetChunk', 9);
    await driver.waitFor('ClearWorldMap');
    const player = backend.player(PLAYER_UUID)!;
    expect(player.certificateFingerprint).toBe(certificate.fingerprint);
    expect(player.alpn).toBe('hytale/2');
    // the server's uni streams: ids 3 (Chunks) and 7 (WorldMap), by channel
    const byId = new Map(driver.streamOrder.map((s) => [s.id, s.channel]));
    expect(byId.get(3)).toBe('Chunks');
    expect(byId.get(7)).toBe('WorldMap');
    expect(driver.all('SetChunk').every((r) => r.streamId === 3)).toBe(true);
    expect(driver.all('ClearWorldMap')[0]!.streamId).toBe(7);
    expect(chunkOwner(value<{ data: Uint8Array }>(driver.all('SetChunk')[0]!).data)).toMatchObject({ backendId: 'quic-lobby' });
    await answerPing(driver, await driver.next('Ping'));
    await expect.poll(() => backend.counters.pongsAccepted).toBe(3);
  });

  it('G1: hytale/1 only, one stream for everything', async () => {
    const backend = await quicBackend({ generation: 'G1' });
    const driver = await Driver.connect(quic(), backend, {
      dial: {
        certificate: await createSelfSignedCertificate({ commonName: 'player' }),
        serverTrust: { fingerprints: [backend.certificateFingerprint!] },
        idleTimeout: 10_000,
      },
    });
    open.push(driver);
    expect(driver.connection.alpn).toBe('hytale/1');
    await join(driver);
    await driver.waitFor('SetChunk', 9);
    expect(new Set(driver.received.map((r) => r.streamId))).toEqual(new Set([0]));
  });

  it('G2 with a client that offers only hytale/1: "update your client", then code 5', async () => {
    const backend = await quicBackend({ generation: 'G2' });
    const driver = await Driver.connect(quic(), backend, {
      alpn: ['hytale/1'],
      dial: {
        certificate: await createSelfSignedCertificate({ commonName: 'player' }),
        serverTrust: { fingerprints: [backend.certificateFingerprint!] },
        idleTimeout: 10_000,
      },
    });
    open.push(driver);
    await driver.sendRaw(new Uint8Array(0));
    await driver.send('Connect', (await import('./backend-support/driver.js')).connectPacket(driver.generation));
    expect(value(await driver.next('Disconnect'))).toEqual({ reason: 'Your game client needs to be updated.', type: 'Disconnect' });
    expect(await driver.closed).toMatchObject({ code: 5 });
  });

  it('crash over QUIC: no Disconnect, the connection ends, the backend is gone', async () => {
    const backend = await quicBackend();
    const driver = await Driver.connect(quic(), backend, {
      dial: {
        certificate: await createSelfSignedCertificate({ commonName: 'player' }),
        serverTrust: { fingerprints: [backend.certificateFingerprint!] },
        idleTimeout: 10_000,
      },
    });
    open.push(driver);
    await join(driver);
    await backend.crash();
    // the streams are reset first: the client sees its stream fail, and no Disconnect ever comes
    await driver.closed;
    expect(driver.names()).not.toContain('Disconnect');
    expect(await backend.allPlayers[0]!.closed).toMatchObject({ kind: 'crash' });
    await backend.closed;
  });

  it('mTLS to the proxy: a certificate from the proxy CA joins, any other one is refused', async () => {
    const ca = await createDevCa({ commonName: 'proxy CA' });
    const serverCert = await ca.issue({ commonName: 'localhost', usage: 'server', ipAddresses: ['127.0.0.1'] });
    const backend = await quicBackend({ quic: { certificate: serverCert, clientCertificate: { policy: 'required-and-verified', ca: ca.certPem } } });
    expect(backend.certificateFingerprint).toBe(serverCert.fingerprint);
    const proxyCert = await ca.issue({ commonName: 'proxy', usage: 'client' });
    const driver = await Driver.connect(quic(), backend, { dial: { certificate: proxyCert, serverTrust: { ca: ca.certPem }, idleTimeout: 10_000 } });
    open.push(driver);
    await join(driver, { until: 'world-settings' });

    const stranger = await createSelfSignedCertificate({ commonName: 'stranger' });
    const refused = await quic()
      .dial({ address: backend.address, alpn: ['hytale/2'], certificate: stranger, serverTrust: { ca: ca.certPem }, idleTimeout: 5000 })
      .then(
        async (connection) => {
          const info = await connection.closed;
          return info.error?.code;
        },
        (error: { code?: string }) => error.code,
      );
    expect(refused).toBe('ERR_TRANSPORT_TLS');
    expect(backend.counters.connections).toBe(1);
  });
});

describe('TCP', () => {
  it('G3 over TCP: every channel on the one stream (the server\'s --transport TCP)', async () => {
    const backend = await createBackend({ id: 'tcp-lobby', transport: 'tcp' });
    open.push(backend);
    expect(backend.transport).toBe('tcp');
    expect(backend.certificateFingerprint).toBeUndefined();
    const driver = await Driver.connect(tcp(), backend);
    open.push(driver);
    await join(driver);
    await driver.waitFor('SetChunk', 9);
    await driver.waitFor('ClearWorldMap');
    expect(new Set(driver.received.map((r) => r.streamId))).toEqual(new Set([0]));
    await backend.kick(PLAYER_UUID, 'bye');
    expect(value(await driver.next('Disconnect'))).toEqual({ reason: 'bye', type: 'Disconnect' });
    await driver.closed;
  });

  it('crash over TCP: the connection is reset, no Disconnect', async () => {
    const backend = await createBackend({ id: 'tcp-crash', transport: 'tcp' });
    open.push(backend);
    const driver = await Driver.connect(tcp(), backend);
    open.push(driver);
    await join(driver);
    await backend.crash();
    const info = await driver.closed;
    expect(info.error?.code).toBe('ERR_TRANSPORT_CONNECTION_LOST');
    expect(driver.names()).not.toContain('Disconnect');
    await expect(tcp().dial({ address: backend.address })).rejects.toMatchObject({ code: 'ERR_TRANSPORT_CONNECT_REFUSED' });
  });
});
