/**
 * The known faults of `@matrixai/quic` 2.0.9: for each, a reproduction against the raw library
 * (so we know the fence is still needed; if one of these starts failing after an upgrade, the
 * fault is fixed upstream and its fence can go), and the adapter's behaviour with the fence.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Connection, Listener } from '@handoff/transport';
import { quic } from '@handoff/transport-quic';
import { errors as quicErrors, events as quicEvents, type QUICClient, type QUICServer, type QUICStream } from '@matrixai/quic';
import { blackholeRelay } from './helpers/blackhole-relay.js';
import { coalescingRelay } from './helpers/coalescing-relay.js';
import { bytes, fixtures, loopback, readAllText, text, unhandledRejectionsDuring, type Fixtures } from './helpers/fixtures.js';
import { goServer, PemDir, type GoPeer } from './helpers/go-peer.js';
import { rawClient, rawServer } from './helpers/raw-library.js';

const transport = quic();
const here = dirname(fileURLToPath(import.meta.url));
let f: Fixtures;
const cleanup: (() => Promise<unknown>)[] = [];
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  f = await fixtures();
});

afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step().catch(() => {});
});

function track<T extends QUICClient | QUICServer | Listener | Connection | GoPeer | { close(): Promise<void> }>(thing: T): T {
  cleanup.push(() => {
    if ('destroy' in thing && typeof thing.destroy === 'function') return thing.destroy({ force: true });
    if ('kill' in thing) return thing.kill();
    if ('stop' in thing && typeof thing.stop === 'function') return thing.stop({ force: true });
    return (thing as { close(): Promise<void> }).close();
  });
  return thing;
}

async function adapterPair(listenInit: Record<string, unknown> = {}, dialInit: Record<string, unknown> = {}) {
  const listener = track(
    await transport.listen({ address: loopback, certificate: f.server, clientCertificate: 'required-any', idleTimeout: 5_000, ...listenInit }),
  );
  const [client, server] = await Promise.all([
    transport.dial({ address: listener.address, certificate: f.player, serverTrust: { ca: f.ca.certPem }, idleTimeout: 5_000, ...dialInit }),
    listener.accept(),
  ]);
  track(client);
  track(server);
  return { listener, client, server };
}

describe('fault 1: the default maxIdleTimeout is 0, so a dead peer is never noticed', () => {
  it('raw library: a connection whose peer vanished stays open', async () => {
    const raw = track((await rawServer(f.server)).server);
    const relay = track(await blackholeRelay(raw.port));
    const client = track(await rawClient(relay.port, { verifyPeer: false }));
    relay.blackhole();
    let failed = false;
    client.connection.addEventListener(quicEvents.EventQUICConnectionError.name, () => {
      failed = true;
    });
    await sleep(1_500);
    expect(failed).toBe(false);
    expect(client.closed).toBe(false);
  });

  it('adapter: always sets an idle timeout, so the vanished peer is noticed on both ends', async () => {
    const listener = track(
      await transport.listen({ address: loopback, certificate: f.server, clientCertificate: 'required-any', idleTimeout: 600 }),
    );
    const relay = track(await blackholeRelay(listener.address.port));
    const [client, server] = await Promise.all([
      transport.dial({ address: { host: '127.0.0.1', port: relay.port }, certificate: f.player, serverTrust: { ca: f.ca.certPem }, idleTimeout: 600 }),
      listener.accept(),
    ]);
    relay.blackhole();
    const [clientInfo, serverInfo] = await Promise.all([client.closed, server.closed]);
    expect(clientInfo).toMatchObject({ initiator: 'transport', error: { code: 'ERR_TRANSPORT_IDLE_TIMEOUT' } });
    expect(serverInfo).toMatchObject({ initiator: 'transport', error: { code: 'ERR_TRANSPORT_IDLE_TIMEOUT' } });
  });

  it('adapter: keep-alive keeps a quiet but live connection open past its idle timeout', async () => {
    const { client, server } = await adapterPair({ idleTimeout: 500 }, { idleTimeout: 500 });
    await sleep(1_500);
    const stream = await client.openStream();
    await stream.writable.getWriter().write(bytes('still alive'));
    const incoming = await server.acceptStream();
    expect(text((await incoming.readable.getReader().read()).value!)).toBe('still alive');
  });
});

describe('fault 2: newStream() past the peer limit poisons every later newStream()', () => {
  it('raw library: after one StreamLimit error the connection can never open a stream again', async () => {
    const { server } = await rawServer(f.server, { initialMaxStreamsBidi: 1 });
    track(server);
    const client = track(await rawClient(server.port, { verifyPeer: false }));
    const inner = client.connection as unknown as { conn: { peerStreamsLeftBidi(): number } };
    const first = client.connection.newStream('bidi');
    expect(() => client.connection.newStream('bidi')).toThrow(quicErrors.ErrorQUICStreamLimit);
    await first.writable.close();
    const reader = first.readable.getReader();
    // the server side never writes; cancel our read half so the stream ends and credit returns
    await reader.cancel();
    const deadline = Date.now() + 5_000;
    while (inner.conn.peerStreamsLeftBidi() === 0 && Date.now() < deadline) await sleep(20);
    expect(inner.conn.peerStreamsLeftBidi()).toBeGreaterThan(0);
    expect(() => client.connection.newStream('bidi')).toThrow(quicErrors.ErrorQUICUndefinedBehaviour);
  });

  it('adapter: openStream fails with ERR_TRANSPORT_STREAM_LIMIT and works again once credit returns', async () => {
    const { client, server } = await adapterPair({ maxStreams: { bidi: 1 } });
    const first = await client.openStream();
    await expect(client.openStream()).rejects.toMatchObject({ code: 'ERR_TRANSPORT_STREAM_LIMIT' });
    await expect(client.openStream()).rejects.toMatchObject({ code: 'ERR_TRANSPORT_STREAM_LIMIT' });
    const writer = first.writable.getWriter();
    await writer.write(bytes('one'));
    await writer.close();
    const incoming = await server.acceptStream();
    expect(await readAllText(incoming.readable)).toBe('one');
    await incoming.writable!.close();
    expect(await readAllText(first.readable)).toBe('');
    let second: Awaited<ReturnType<Connection['openStream']>> | undefined;
    const deadline = Date.now() + 5_000;
    while (second === undefined && Date.now() < deadline) {
      second = await client.openStream().catch((error: { code?: string }) => {
        expect(error.code).toBe('ERR_TRANSPORT_STREAM_LIMIT');
        return sleep(20).then(() => undefined);
      });
    }
    expect(second?.id).toBe(4);
    await second!.writable.getWriter().write(bytes('two'));
    const next = await server.acceptStream();
    expect(text((await next.readable.getReader().read()).value!)).toBe('two');
  });
});

describe('fault 3: with a server verifyCallback, streams opened right after the handshake are lost', () => {
  it('raw library: the server never hears of the client stream', async () => {
    let lost = 0;
    for (let attempt = 0; attempt < 5; attempt++) {
      // a callback that accepts any certificate after a little asynchronous work
      const verifyCallback = async (): Promise<undefined> => {
        await sleep(5);
        return undefined;
      };
      const { server } = await rawServer(f.server, { verifyPeer: true, verifyCallback });
      let heard = 0;
      server.addEventListener(quicEvents.EventQUICServerConnection.name, (evt: Event) => {
        (evt as quicEvents.EventQUICServerConnection).detail.addEventListener(quicEvents.EventQUICConnectionStream.name, () => {
          heard++;
        });
      });
      const client = await rawClient(server.port, { key: f.player.keyPem, cert: f.player.certPem, ca: f.ca.certPem });
      const stream = client.connection.newStream('bidi');
      await stream.writable.getWriter().write(bytes('early'));
      await sleep(200);
      if (heard === 0) lost++;
      await client.destroy({ force: true });
      await server.stop({ force: true });
    }
    expect(lost).toBeGreaterThan(0);
  });

  it('adapter (required-any uses a verifyCallback): every early stream is delivered', async () => {
    const listener = track(
      await transport.listen({ address: loopback, certificate: f.server, clientCertificate: 'required-any', idleTimeout: 5_000 }),
    );
    for (let attempt = 0; attempt < 5; attempt++) {
      const client = track(
        await transport.dial({ address: listener.address, certificate: f.player, serverTrust: { ca: f.ca.certPem }, idleTimeout: 5_000 }),
      );
      const stream = attempt % 2 === 0 ? await client.openStream() : await client.openStream({ kind: 'uni' });
      const writer = stream.writable.getWriter();
      await writer.write(bytes(`early-${attempt}`));
      await writer.close();
      const server = track(await listener.accept());
      const incoming = await server.acceptStream();
      expect(await readAllText(incoming.readable)).toBe(`early-${attempt}`);
    }
  });
});

describe('fault 4: peer uni streams arriving during the handshake raise an unhandled rejection', () => {
  async function earlyUniServer(): Promise<{ port: number }> {
    const pem = await PemDir.create();
    cleanup.push(() => pem.remove());
    const { peer, port } = await goServer([
      ...(await pem.certificate('server', f.server)),
      '-client-auth',
      'any',
      '-early-uni',
      '2',
      '-idle',
      '3s',
    ]);
    track(peer);
    // the relay delivers the server's 0.5-RTT stream data inside the datagram that completes
    // the client's handshake, every time
    const relay = track(await coalescingRelay(port));
    return { port: relay.port };
  }

  it('raw library: InvalidStreamState escapes as an unhandled rejection', async () => {
    let rejections: unknown[] = [];
    for (let attempt = 0; attempt < 3 && rejections.length === 0; attempt++) {
      const { port } = await earlyUniServer();
      rejections = await unhandledRejectionsDuring(async () => {
        // With a verifyCallback (the dialer uses one for pinned fingerprints) the library processes
        // streams right after verifying, still inside `start()`. Without one, the batched-I/O
        // patch happens to process them only once `start()` has finished.
        const client = await rawClient(port, {
          key: f.player.keyPem,
          cert: f.player.certPem,
          ca: f.ca.certPem,
          verifyPeer: true,
          verifyCallback: async () => undefined,
        });
        await sleep(300);
        await client.destroy({ force: true });
      });
    }
    expect(rejections.length).toBeGreaterThan(0);
    expect(String((rejections[0] as Error).message)).toMatch(/InvalidStreamState/);
  });

  it('raw library: the same happens to a peer uni stream that arrives while a connection stops', async () => {
    const { server, connections } = await rawServer(f.server, { verifyPeer: false });
    track(server);
    const client = track(await rawClient(server.port, { verifyPeer: false }));
    const open = client.connection.newStream('bidi');
    await open.writable.getWriter().write(bytes('x'));
    await sleep(50);
    const rejections = await unhandledRejectionsDuring(async () => {
      const stopping = connections[0]!.stop({ force: false }); // waits for the open stream
      await sleep(20);
      const late: QUICStream = client.connection.newStream('uni');
      await late.writable.getWriter().write(bytes('late')).catch(() => {});
      await sleep(200);
      connections[0]!.destroyStreams();
      await stopping;
    });
    expect(rejections.length).toBeGreaterThan(0);
  });

  it('adapter: nothing escapes, and both early streams are delivered as Chunks then WorldMap', async () => {
    for (let attempt = 0; attempt < 3; attempt++) {
      const { port } = await earlyUniServer();
      const rejections = await unhandledRejectionsDuring(async () => {
        const client = await transport.dial({
          address: { host: '127.0.0.1', port },
          certificate: f.player,
          serverTrust: { ca: f.ca.certPem },
          idleTimeout: 3_000,
        });
        const streams = [await client.acceptStream(), await client.acceptStream()].sort((a, b) => a.id - b.id);
        expect(streams.map((s) => [s.id, s.channel])).toEqual([
          [3, 'Chunks'],
          [7, 'WorldMap'],
        ]);
        expect(await readAllText(streams[0]!.readable)).toBe('early-0');
        expect(await readAllText(streams[1]!.readable)).toBe('early-1');
        await client.close();
      });
      expect(rejections).toEqual([]);
    }
  });
});

describe('fault 5: every close, even a clean one, arrives as an error event', () => {
  it('raw library: the peer of a clean close gets ErrorQUICConnectionPeer', async () => {
    const { server, connections } = await rawServer(f.server, { verifyPeer: false });
    track(server);
    const client = await rawClient(server.port, { verifyPeer: false });
    await sleep(50);
    const errors: unknown[] = [];
    connections[0]!.addEventListener(quicEvents.EventQUICConnectionError.name, (evt: Event) => {
      errors.push((evt as quicEvents.EventQUICConnectionError).detail);
    });
    await client.destroy({ isApp: true, errorCode: 0, force: true });
    await connections[0]!.closedP;
    expect(errors[0]).toBeInstanceOf(quicErrors.ErrorQUICConnectionPeer);
  });

  it('adapter: a clean close is reported without an error on both ends', async () => {
    const { client, server } = await adapterPair();
    await client.close({ code: 0, reason: 'done' });
    expect(await client.closed).toEqual({ initiator: 'local', code: 0, reason: 'done' });
    expect(await server.closed).toEqual({ initiator: 'remote', code: 0, reason: 'done' });
  });
});

describe('fault 6: handles left behind keep the process alive', () => {
  function runScript(script: string, deadlineMs: number): Promise<{ exited: boolean; code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', join(here, 'fixtures', script)], {
        cwd: join(here, '..'),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve({ exited: false, code: null, stdout, stderr });
      }, deadlineMs);
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve({ exited: true, code, stdout, stderr });
      });
    });
  }

  it('raw library: a dial to a silent port never settles and the process never exits', async () => {
    const result = await runScript('raw-dial-dead-port.ts', 6_000);
    expect(result.stdout).toContain('dialing');
    expect(result.exited).toBe(false);
  }, 20_000);

  it('adapter: after connections, refused handshakes, a vanished peer and listener close, the process exits by itself', async () => {
    const result = await runScript('adapter-lifecycle.ts', 20_000);
    expect(result.stderr).toBe('');
    expect(result.exited).toBe(true);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout.trim().split('\n').pop()!)).toEqual({ left: [] });
  }, 30_000);
});
