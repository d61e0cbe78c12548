import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Address, Connection, IncomingStream, Listener, TransportError } from '@handoff/transport';
import { quic, type QuicDialInit, type QuicListenInit } from '@handoff/transport-quic';
import { bytes, fixtures, loopback, readAllText, text, type Fixtures } from './helpers/fixtures.js';

const transport = quic();
let f: Fixtures;
const cleanup: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  f = await fixtures();
});

afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step().catch(() => {});
});

async function listen(init: Partial<QuicListenInit> = {}): Promise<Listener> {
  const listener = await transport.listen({
    address: loopback,
    certificate: f.server,
    clientCertificate: 'required-any',
    idleTimeout: 5_000,
    ...init,
  });
  cleanup.push(() => listener.close());
  return listener;
}

async function dial(address: Address, init: Partial<QuicDialInit> = {}): Promise<Connection> {
  const connection = await transport.dial({
    address,
    certificate: f.player,
    serverTrust: { ca: f.ca.certPem },
    idleTimeout: 5_000,
    ...init,
  });
  cleanup.push(() => connection.close());
  return connection;
}

async function pair(
  listenInit: Partial<QuicListenInit> = {},
  dialInit: Partial<QuicDialInit> = {},
): Promise<{ listener: Listener; client: Connection; server: Connection }> {
  const listener = await listen(listenInit);
  const [client, server] = await Promise.all([dial(listener.address, dialInit), listener.accept()]);
  cleanup.push(() => server.close());
  return { listener, client, server };
}

/**
 * Dials where the handshake must fail. Returns the dialer's error, which is the dial's rejection
 * or, when the server refused the client's certificate, the `closed` error of a connection that
 * the dial had already returned (TLS 1.3: the client finishes before the server has checked it);
 * and, with `listenerSide`, the error the listener reported to `onHandshakeError`.
 */
async function rejected(
  listenInit: Partial<QuicListenInit>,
  dialInit: Partial<QuicDialInit>,
  listenerSide = true,
): Promise<{ dialer: TransportError; listener: TransportError | undefined; accepted: boolean }> {
  let onListener!: (error: TransportError) => void;
  const listenerError = new Promise<TransportError>((resolve) => {
    onListener = resolve;
  });
  const listener = await listen({ ...listenInit, onHandshakeError: (error) => onListener(error) });
  let accepted = false;
  void listener.accept().then(
    (connection) => {
      accepted = true;
      cleanup.push(() => connection.close());
    },
    () => {},
  );
  const dialer = await dial(listener.address, dialInit).then(
    async (connection) => {
      const info = await connection.closed;
      if (info.error === undefined) throw new Error('the connection should have failed');
      await expect(connection.openStream()).rejects.toBe(info.error);
      return info.error;
    },
    (error: unknown) => error as TransportError,
  );
  return { dialer, listener: listenerSide ? await listenerError : undefined, accepted };
}

describe('ALPN', () => {
  it('negotiates a protocol both offer and exposes it on both ends', async () => {
    const { client, server } = await pair({ alpn: ['hytale/2', 'hytale/1'] }, { alpn: ['hytale/3', 'hytale/2'] });
    expect(client.alpn).toBe('hytale/2');
    expect(server.alpn).toBe('hytale/2');
  });

  it("picks by the listener's preference when the dialer prefers another common protocol", async () => {
    const { client, server } = await pair({ alpn: ['hytale/2', 'hytale/1'] }, { alpn: ['hytale/1', 'hytale/2'] });
    expect(server.alpn).toBe('hytale/2');
    expect(client.alpn).toBe('hytale/2');
  });

  it('gives each of many concurrent dials the protocol its own offer calls for', async () => {
    const listener = await listen({ alpn: ['hytale/2', 'hytale/1'] });
    const offers = Array.from({ length: 12 }, (_, i) => (i % 3 === 0 ? ['hytale/1'] : i % 3 === 1 ? ['hytale/1', 'hytale/2'] : ['hytale/2']));
    const clients = await Promise.all(offers.map((alpn) => dial(listener.address, { alpn })));
    const servers = await Promise.all(offers.map(() => listener.accept()));
    for (const server of servers) cleanup.push(() => server.close());
    expect(clients.map((c) => c.alpn)).toEqual(offers.map((offer) => (offer.includes('hytale/2') ? 'hytale/2' : 'hytale/1')));
    expect(servers.map((s) => s.alpn).sort()).toEqual(clients.map((c) => c.alpn).sort());
  });

  it('accepts hytale/1 when that is all the client offers (so the server can tell it to update)', async () => {
    const { server } = await pair({ alpn: ['hytale/2', 'hytale/1'] }, { alpn: ['hytale/1'] });
    expect(server.alpn).toBe('hytale/1');
  });

  it('fails both ends with ERR_TRANSPORT_ALPN_MISMATCH when no protocol is shared', async () => {
    const { dialer, listener, accepted } = await rejected({ alpn: ['hytale/2'] }, { alpn: ['hytale/3'] });
    expect(dialer.code).toBe('ERR_TRANSPORT_ALPN_MISMATCH');
    expect(listener?.code).toBe('ERR_TRANSPORT_ALPN_MISMATCH');
    expect(accepted).toBe(false);
  });
});

describe('client certificate policy required-any', () => {
  it('accepts a self-signed client certificate and exposes its chain and cnf.x5t#S256', async () => {
    const { client, server } = await pair();
    expect(server.peerCertificates).toHaveLength(1);
    expect(Buffer.from(server.peerCertificates[0]!).equals(Buffer.from(f.player.der))).toBe(true);
    expect(server.peerCertificateFingerprint).toBe(f.player.fingerprint);
    expect(client.peerCertificateFingerprint).toBe(f.server.fingerprint);
    expect(client.direction).toBe('outbound');
    expect(server.direction).toBe('inbound');
    expect(server.remoteAddress.host).toBe('127.0.0.1');
    expect(server.remoteAddress.port).toBe(client.localAddress.port);
  });

  it('rejects a client without a certificate', async () => {
    const { dialer, listener, accepted } = await rejected({}, { certificate: undefined });
    expect(dialer.code).toBe('ERR_TRANSPORT_TLS');
    expect(listener?.code).toBe('ERR_TRANSPORT_TLS');
    expect(accepted).toBe(false);
  });
});

describe('client certificate policy required-and-verified', () => {
  const verified = (): Partial<QuicListenInit> => ({ clientCertificate: { policy: 'required-and-verified', ca: f.ca.certPem } });

  it('accepts a client certificate issued by the CA', async () => {
    const { server } = await pair(verified(), { certificate: f.client });
    expect(server.peerCertificateFingerprint).toBe(f.client.fingerprint);
  });

  it.each([
    ['issued by another CA', () => f.strangerClient],
    ['self-signed', () => f.player],
    ['missing', () => undefined],
  ])('rejects a client certificate that is %s', async (_name, certificate) => {
    const { dialer, listener, accepted } = await rejected(verified(), { certificate: certificate() });
    expect(dialer.code).toBe('ERR_TRANSPORT_TLS');
    expect(listener?.code).toBe('ERR_TRANSPORT_TLS');
    expect(accepted).toBe(false);
  });
});

describe('server trust', () => {
  it('rejects a server whose certificate the CA did not issue', async () => {
    const { dialer } = await rejected({}, { serverTrust: { ca: f.otherCa.certPem } }, false);
    expect(dialer.code).toBe('ERR_TRANSPORT_TLS');
  });

  it('rejects a server certificate that does not name the server', async () => {
    const { dialer } = await rejected({}, { serverTrust: { ca: f.ca.certPem, serverName: 'backend-b' } }, false);
    expect(dialer.code).toBe('ERR_TRANSPORT_TLS');
  });

  it('pins server certificates by fingerprint', async () => {
    const { client } = await pair({}, { serverTrust: { fingerprints: [f.server.fingerprint] } });
    expect(client.peerCertificateFingerprint).toBe(f.server.fingerprint);
    const { dialer } = await rejected({}, { serverTrust: { fingerprints: [f.player.fingerprint] } }, false);
    expect(dialer.code).toBe('ERR_TRANSPORT_TLS');
  });

  it('skips every check with insecure-any', async () => {
    const { client } = await pair({}, { serverTrust: 'insecure-any' });
    expect(client.alpn).toBe('hytale/2');
  });
});

describe('streams', () => {
  it('echoes on a bidirectional stream opened by the client', async () => {
    const { client, server } = await pair();
    const stream = await client.openStream({ channel: 'Default' });
    expect(stream.id).toBe(0);
    expect(stream.channel).toBe('Default');
    const writer = stream.writable.getWriter();
    await writer.write(bytes('hello'));
    await writer.close();
    const incoming = await server.acceptStream();
    expect(incoming.kind).toBe('bidi');
    expect(incoming.channel).toBe('Default');
    expect(await readAllText(incoming.readable)).toBe('hello');
    const back = incoming.writable!.getWriter();
    await back.write(bytes('world'));
    await back.close();
    expect(await readAllText(stream.readable)).toBe('world');
    expect(await stream.closed).toEqual({});
    expect(await incoming.closed).toEqual({});
  });

  it('carries server-opened uni streams with their ids, labelled Chunks then WorldMap (Hytale G3)', async () => {
    const { client, server } = await pair({ maxStreams: { bidi: 1, uni: 0 } });
    const chunks = await server.openStream({ kind: 'uni', channel: 'Chunks' });
    const worldMap = await server.openStream({ kind: 'uni', channel: 'WorldMap' });
    expect([chunks.id, worldMap.id]).toEqual([3, 7]);
    expect(chunks.readable).toBeNull();
    for (const [stream, body] of [
      [chunks, 'chunk'],
      [worldMap, 'map'],
    ] as const) {
      const writer = stream.writable.getWriter();
      await writer.write(bytes(body));
      await writer.close();
    }
    const received = [await client.acceptStream(), await client.acceptStream()].sort((a, b) => a.id - b.id);
    const [first, second] = received as [IncomingStream, IncomingStream];
    expect([first.id, first.kind, first.initiator, first.channel, first.writable]).toEqual([3, 'uni', 'remote', 'Chunks', null]);
    expect([second.id, second.channel]).toEqual([7, 'WorldMap']);
    expect(await readAllText(first.readable)).toBe('chunk');
    expect(await readAllText(second.readable)).toBe('map');
  });

  it('carries client-opened uni streams', async () => {
    const { client, server } = await pair();
    const stream = await client.openStream({ kind: 'uni' });
    expect(stream.id).toBe(2);
    const writer = stream.writable.getWriter();
    await writer.write(bytes('up'));
    await writer.close();
    const incoming = await server.acceptStream();
    expect([incoming.id, incoming.kind]).toEqual([2, 'uni']);
    expect(await readAllText(incoming.readable)).toBe('up');
  });

  it.each([true, false])('keeps many small writes whole and in order (coalescing %s)', async (coalesceWrites) => {
    const { client, server } = await pair({ coalesceWrites }, { coalesceWrites });
    const stream = await client.openStream();
    const writer = stream.writable.getWriter();
    const frames = Array.from({ length: 2_000 }, (_, i) => `frame-${i};`);
    for (const frame of frames) await writer.write(bytes(frame));
    await writer.close();
    const incoming = await server.acceptStream();
    expect(await readAllText(incoming.readable)).toBe(frames.join(''));
  });

  it('resets one stream with a code without ending the connection', async () => {
    const { client, server } = await pair();
    const stream = await client.openStream();
    await stream.writable.getWriter().write(bytes('x'));
    const incoming = await server.acceptStream();
    const reader = incoming.readable.getReader();
    expect(text((await reader.read()).value!)).toBe('x');
    stream.abort({ code: 7 });
    const error = await reader.read().then(
      () => undefined,
      (e: unknown) => e as TransportError,
    );
    expect(error?.code).toBe('ERR_TRANSPORT_STREAM_RESET');
    expect(error?.closeCode).toBe(7);
    const another = await client.openStream();
    await another.writable.getWriter().write(bytes('still here'));
    const next = await server.acceptStream();
    expect(text((await next.readable.getReader().read()).value!)).toBe('still here');
  });

  it('rejects writes of anything but bytes without harming the connection', async () => {
    const { client } = await pair();
    const stream = await client.openStream();
    const writer = stream.writable.getWriter();
    await expect(writer.write('text' as unknown as Uint8Array)).rejects.toMatchObject({ code: 'ERR_TRANSPORT_INVALID_ARGUMENT' });
    const other = await client.openStream();
    await other.writable.getWriter().write(bytes('ok'));
  });
});

describe('closing', () => {
  it('reports a clean close with its code and reason to both ends, never as a failure', async () => {
    const { client, server } = await pair();
    const pending = client.acceptStream().catch((error: unknown) => Promise.reject(error));
    pending.catch(() => {});
    await server.close({ code: 5, reason: 'Your game client needs to be updated.' });
    expect(await server.closed).toEqual({ initiator: 'local', code: 5, reason: 'Your game client needs to be updated.' });
    expect(await client.closed).toEqual({ initiator: 'remote', code: 5, reason: 'Your game client needs to be updated.' });
    await expect(pending).rejects.toMatchObject({ code: 'ERR_TRANSPORT_PEER_CLOSED', closeCode: 5 });
    await expect(client.openStream()).rejects.toMatchObject({ code: 'ERR_TRANSPORT_PEER_CLOSED' });
  });

  it('delivers what was written just before close (a Disconnect before the CONNECTION_CLOSE)', async () => {
    const { client, server } = await pair();
    const stream = await client.openStream();
    await stream.writable.getWriter().write(bytes('hello'));
    const incoming = await server.acceptStream();
    const reader = incoming.readable!.getReader();
    expect(text((await reader.read()).value!)).toBe('hello');
    const writer = incoming.writable!.getWriter();
    void writer.write(bytes('Disconnect: bye'));
    await server.close({ code: 0 });
    const clientReader = stream.readable.getReader();
    expect(text((await clientReader.read()).value!)).toBe('Disconnect: bye');
    await expect(clientReader.read()).rejects.toMatchObject({ code: 'ERR_TRANSPORT_PEER_CLOSED' });
  });

  it('fails pending and later calls of the closing side with ERR_TRANSPORT_CLOSED', async () => {
    const { client } = await pair();
    const stream = await client.openStream();
    const pending = client.acceptStream();
    pending.catch(() => {});
    await client.close();
    await expect(pending).rejects.toMatchObject({ code: 'ERR_TRANSPORT_CLOSED' });
    await expect(client.openStream()).rejects.toMatchObject({ code: 'ERR_TRANSPORT_CLOSED' });
    await expect(stream.writable.getWriter().write(bytes('late'))).rejects.toMatchObject({ code: 'ERR_TRANSPORT_CLOSED' });
    expect(await stream.closed).toMatchObject({ error: { code: 'ERR_TRANSPORT_CLOSED' } });
  });

  it('closes established connections nobody accepted when the listener closes, and keeps accepted ones', async () => {
    const listener = await listen();
    const accepted = dial(listener.address);
    const server = await listener.accept();
    const client = await accepted;
    const waiting = await dial(listener.address);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await listener.close();
    expect(await waiting.closed).toMatchObject({ initiator: 'remote' });
    await expect(listener.accept()).rejects.toMatchObject({ code: 'ERR_TRANSPORT_CLOSED' });
    const stream = await client.openStream();
    await stream.writable.getWriter().write(bytes('after listener close'));
    const incoming = await server.acceptStream();
    expect(text((await incoming.readable.getReader().read()).value!)).toBe('after listener close');
    await server.close();
  });
});

describe('options', () => {
  it.each([
    ['an idle timeout of 0 (the library would never notice a dead peer)', { idleTimeout: 0 }],
    ['keep-alive not below the idle timeout', { idleTimeout: 1_000, keepAliveInterval: 1_000 }],
    ['an empty ALPN list', { alpn: [] }],
    ['an unknown client-certificate policy', { clientCertificate: 'optional' as never }],
    ['no certificate', { certificate: undefined as never }],
  ])('rejects %s with ERR_TRANSPORT_INVALID_ARGUMENT', async (_name, init) => {
    await expect(listen(init as Partial<QuicListenInit>)).rejects.toMatchObject({ code: 'ERR_TRANSPORT_INVALID_ARGUMENT' });
  });

  it('reports a port in use as ERR_TRANSPORT_LISTEN_FAILED', async () => {
    const first = await listen();
    await expect(listen({ address: first.address })).rejects.toMatchObject({ code: 'ERR_TRANSPORT_LISTEN_FAILED' });
  });

  it('aborts a dial through its signal', async () => {
    const controller = new AbortController();
    const pending = transport.dial({
      address: { host: '127.0.0.1', port: 9 },
      certificate: f.player,
      serverTrust: 'insecure-any',
      idleTimeout: 30_000,
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(new Error('user gave up')), 50);
    await expect(pending).rejects.toMatchObject({ code: 'ERR_TRANSPORT_ABORTED' });
  });
});
