/**
 * Interop with an independent QUIC stack: quic-go 0.29 (Debian's package), built offline by the
 * globalSetup from interop/quic-peer/main.go. Both directions, ALPN hytale/2, mTLS both ways, and
 * the rejections (no client certificate, wrong CA, wrong ALPN).
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Connection, Listener, TransportError } from '@handoff/transport';
import { quic, type QuicListenInit } from '@handoff/transport-quic';
import { bytes, fixtures, loopback, readAllText, text, type Fixtures } from './helpers/fixtures.js';
import { goClient, goServer, PemDir, type GoPeer } from './helpers/go-peer.js';

const transport = quic();
let f: Fixtures;
let pem: PemDir;
let caFile: string;
const cleanup: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  f = await fixtures();
  pem = await PemDir.create();
  caFile = await pem.write('ca.pem', f.ca.certPem);
  return () => pem.remove();
});

afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step().catch(() => {});
});

describe('quic-go server, Handoff dialer', () => {
  async function server(args: readonly string[]): Promise<{ peer: GoPeer; port: number }> {
    const started = await goServer([...(await pem.certificate('go-server', f.server)), '-idle', '5s', ...args]);
    cleanup.push(() => started.peer.kill());
    return started;
  }

  async function dial(port: number, init: Record<string, unknown> = {}): Promise<Connection> {
    const connection = await transport.dial({
      address: { host: '127.0.0.1', port },
      alpn: ['hytale/2'],
      certificate: f.client,
      serverTrust: { ca: f.ca.certPem },
      idleTimeout: 5_000,
      ...init,
    });
    cleanup.push(() => connection.close());
    return connection;
  }

  /** The dial's error, or the error its connection closed with (TLS 1.3 client-cert refusals). */
  async function failure(port: number, init: Record<string, unknown>): Promise<TransportError> {
    return dial(port, init).then(
      async (connection) => {
        const stream = await connection.openStream().catch(() => undefined);
        await stream?.writable.getWriter().write(bytes('x')).catch(() => {});
        const info = await connection.closed;
        if (info.error === undefined) throw new Error(`expected a failure, got ${JSON.stringify(info)}`);
        return info.error;
      },
      (error: unknown) => error as TransportError,
    );
  }

  it('connects with mutual TLS and ALPN hytale/2, echoes, and receives the server uni streams in order', async () => {
    const { peer, port } = await server(['-client-auth', 'verify', '-ca', caFile, '-uni', '2']);
    const connection = await dial(port);
    expect(connection.alpn).toBe('hytale/2');
    expect(connection.peerCertificateFingerprint).toBe(f.server.fingerprint);
    const accepted = await peer.waitFor('accepted');
    expect(accepted).toMatchObject({ alpn: 'hytale/2', peerFingerprint: f.client.fingerprint });

    const stream = await connection.openStream();
    const writer = stream.writable.getWriter();
    await writer.write(bytes('hello from handoff'));
    const reader = stream.readable.getReader();
    let echoed = '';
    while (echoed.length < 'hello from handoff'.length) echoed += text((await reader.read()).value!);
    expect(echoed).toBe('hello from handoff');

    const uni = [await connection.acceptStream(), await connection.acceptStream()].sort((a, b) => a.id - b.id);
    expect(uni.map((s) => [s.id, s.kind, s.channel])).toEqual([
      [3, 'uni', 'Chunks'],
      [7, 'uni', 'WorldMap'],
    ]);
    expect(await readAllText(uni[0]!.readable)).toBe('uni-0');
    expect(await readAllText(uni[1]!.readable)).toBe('uni-1');

    await connection.close({ code: 4, reason: 'Read timeout' });
    expect(await peer.waitFor('closed')).toMatchObject({ kind: 'application', code: 4, remote: true, reason: 'Read timeout' });
  });

  it.each([
    ['without a client certificate', () => undefined],
    ['with a client certificate from another CA', () => f.strangerClient],
    ['with a self-signed client certificate', () => f.player],
  ])('is refused %s when the server verifies client certificates', async (_name, certificate) => {
    const { port } = await server(['-client-auth', 'verify', '-ca', caFile]);
    expect((await failure(port, { certificate: certificate() })).code).toBe('ERR_TRANSPORT_TLS');
  });

  it('fails with ERR_TRANSPORT_ALPN_MISMATCH when the server does not speak the protocol', async () => {
    const { port } = await server(['-client-auth', 'any', '-alpn', 'hytale/2']);
    expect((await failure(port, { alpn: ['hytale/9'] })).code).toBe('ERR_TRANSPORT_ALPN_MISMATCH');
  });

  it('refuses a server whose certificate another CA issued', async () => {
    const { port } = await server(['-client-auth', 'any']);
    expect((await failure(port, { serverTrust: { ca: f.otherCa.certPem } })).code).toBe('ERR_TRANSPORT_TLS');
  });
});

describe('Handoff listener, quic-go dialer', () => {
  async function listen(init: Partial<QuicListenInit>, onServer?: (connection: Connection) => Promise<void>) {
    const handshakeErrors: TransportError[] = [];
    const listener: Listener = await transport.listen({
      address: loopback,
      alpn: ['hytale/2', 'hytale/1'],
      certificate: f.server,
      clientCertificate: 'required-any',
      idleTimeout: 5_000,
      onHandshakeError: (error) => handshakeErrors.push(error),
      ...init,
    });
    cleanup.push(() => listener.close());
    const served: Promise<Connection>[] = [];
    if (onServer !== undefined) {
      served.push(
        listener.accept().then(async (connection) => {
          cleanup.push(() => connection.close());
          await onServer(connection);
          return connection;
        }),
      );
    }
    return { listener, handshakeErrors, served };
  }

  async function echo(connection: Connection): Promise<void> {
    const stream = await connection.acceptStream();
    if (stream.kind !== 'bidi') throw new Error('expected a bidi stream');
    const reader = stream.readable.getReader();
    const writer = stream.writable.getWriter();
    const { value } = await reader.read();
    await writer.write(value!);
  }

  async function clientArgs(cert: 'player' | 'client' | 'strangerClient' | 'none'): Promise<string[]> {
    const base = ['-ca', caFile, '-server-name', 'localhost', '-idle', '5s'];
    return cert === 'none' ? base : [...base, ...(await pem.certificate(cert, f[cert]))];
  }

  it('accepts a self-signed client certificate (required-any), echoes, and delivers two uni streams', async () => {
    const { listener, served } = await listen({}, async (connection) => {
      await echo(connection);
      for (const [channel, body] of [
        ['Chunks', 'chunks'],
        ['WorldMap', 'worldmap'],
      ] as const) {
        const uni = await connection.openStream({ kind: 'uni', channel });
        const writer = uni.writable.getWriter();
        await writer.write(bytes(body));
        await writer.close();
      }
    });
    const run = await goClient([
      '-addr',
      `127.0.0.1:${listener.address.port}`,
      ...(await clientArgs('player')),
      '-msg',
      'hello from quic-go',
      '-expect-uni',
      '2',
    ]);
    expect(run.code).toBe(0);
    expect(run.events.find((e) => e.event === 'connected')).toMatchObject({ alpn: 'hytale/2', peerFingerprint: f.server.fingerprint });
    expect(run.events.find((e) => e.event === 'echo')).toMatchObject({ data: 'hello from quic-go' });
    const uni = run.events.filter((e) => e.event === 'uni').sort((a, b) => (a.streamId as number) - (b.streamId as number));
    expect(uni.map((e) => [e.streamId, e.data])).toEqual([
      [3, 'chunks'],
      [7, 'worldmap'],
    ]);
    const server = await served[0]!;
    expect(server.alpn).toBe('hytale/2');
    expect(server.peerCertificateFingerprint).toBe(f.player.fingerprint);
    expect(await server.closed).toEqual({ initiator: 'remote', code: 0, reason: 'bye' });
  });

  it('receives a uni stream the client opens right after its handshake', async () => {
    let early = '';
    const { listener, served } = await listen({}, async (connection) => {
      const first = await connection.acceptStream();
      expect([first.id, first.kind]).toEqual([2, 'uni']);
      early = await readAllText(first.readable);
      await echo(connection);
    });
    const run = await goClient(['-addr', `127.0.0.1:${listener.address.port}`, ...(await clientArgs('player')), '-uni-first']);
    expect(run.code).toBe(0);
    await served[0];
    expect(early).toBe('early-uni');
  });

  it('accepts a client certificate the CA issued (required-and-verified)', async () => {
    const { listener, served } = await listen({ clientCertificate: { policy: 'required-and-verified', ca: f.ca.certPem } }, echo);
    const run = await goClient(['-addr', `127.0.0.1:${listener.address.port}`, ...(await clientArgs('client'))]);
    expect(run.code).toBe(0);
    expect((await served[0]!).peerCertificateFingerprint).toBe(f.client.fingerprint);
  });

  it.each([
    ['required-and-verified', 'strangerClient'],
    ['required-and-verified', 'player'],
    ['required-and-verified', 'none'],
    ['required-any', 'none'],
  ] as const)('under %s refuses a client with certificate %s', async (policy, cert) => {
    const { listener, handshakeErrors } = await listen({
      clientCertificate: policy === 'required-any' ? 'required-any' : { policy, ca: f.ca.certPem },
    });
    const run = await goClient(['-addr', `127.0.0.1:${listener.address.port}`, ...(await clientArgs(cert))]);
    expect(run.code).toBe(1);
    expect(run.events.some((e) => e.event === 'echo')).toBe(false);
    expect(run.events.find((e) => e.event === 'error')).toMatchObject({ kind: 'transport', remote: true });
    expect(handshakeErrors.map((e) => e.code)).toEqual(['ERR_TRANSPORT_TLS']);
  });

  it("applies the listener's ALPN preference to quic-go's ClientHello", async () => {
    const { listener, served } = await listen({ alpn: ['hytale/2', 'hytale/1'] }, echo);
    const run = await goClient(['-addr', `127.0.0.1:${listener.address.port}`, ...(await clientArgs('player')), '-alpn', 'hytale/1,hytale/2']);
    expect(run.code).toBe(0);
    expect(run.events.find((e) => e.event === 'connected')).toMatchObject({ alpn: 'hytale/2' });
    expect((await served[0]!).alpn).toBe('hytale/2');
  });

  it('refuses a client offering no protocol it speaks', async () => {
    const { listener, handshakeErrors } = await listen({ alpn: ['hytale/2'] });
    const run = await goClient(['-addr', `127.0.0.1:${listener.address.port}`, ...(await clientArgs('player')), '-alpn', 'hytale/9']);
    expect(run.code).toBe(1);
    expect(run.events.find((e) => e.event === 'error')).toMatchObject({ kind: 'transport', remote: true });
    expect(handshakeErrors.map((e) => e.code)).toEqual(['ERR_TRANSPORT_ALPN_MISMATCH']);
  });
});
