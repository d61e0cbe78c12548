import { afterEach, describe, expect, test } from 'vitest';
import { inferChannel } from '../channel.js';
import { CloseCode } from '../close-codes.js';
import type { Address, Connection } from '../connection.js';
import { isTransportError, type TransportError, type TransportErrorCode } from '../errors.js';
import { certificateFingerprint } from '../fingerprint.js';
import type { Listener } from '../listener.js';
import type { BidiStream } from '../stream.js';
import type { DialInit, ListenInit } from '../transport.js';
import {
  activeResources,
  closeQuietly,

  isPending,
  patternBytes,
  readAll,
  readExactly,
  settleResources,
  within,
  writeAll,
} from './helpers.js';
import { tcpRelay, udpRelay, type Relay } from './relay.js';
import type { ComplianceSetup } from './types.js';

/** Awaits `promise` and asserts it rejects with a `TransportError` of `code`; returns the error. */
async function rejectsWith(promise: Promise<unknown>, code: TransportErrorCode): Promise<TransportError> {
  try {
    await promise;
  } catch (error) {
    if (!isTransportError(error)) throw new Error(`expected a TransportError ${code}, got ${String(error)}`, { cause: error });
    expect(error.code).toBe(code);
    return error;
  }
  throw new Error(`expected a rejection with ${code}, but it resolved`);
}

/** Reads to the end: `'end'` when it ends cleanly, else the error's code. */
async function readOutcome(readable: ReadableStream<Uint8Array>, ms: number): Promise<string> {
  try {
    await within(readAll(readable), ms, 'reading to the end');
    return 'end';
  } catch (error) {
    return isTransportError(error) ? error.code : String(error);
  }
}

const text = new TextEncoder();
const bytes = (value: string): Uint8Array => text.encode(value);
const str = (value: Uint8Array): string => new TextDecoder().decode(value);

/**
 * The transport compliance suite. Call it from a spec file of your adapter:
 *
 * @example
 * ```ts
 * import { transportCompliance } from '@handoff/transport/compliance';
 * import { tcp } from '@handoff/transport-tcp';
 * const transport = tcp();
 * transportCompliance('tcp', { capabilities: tcpCapabilities, listen: (i) => transport.listen(i), dial: (i) => transport.dial(i), vanish: 'tcp-relay' });
 * ```
 */
export function transportCompliance(name: string, setup: ComplianceSetup): void {
  const caps = setup.capabilities;
  const patience = setup.patience ?? 10_000;
  const listenAddress: Address = setup.address ?? { host: '127.0.0.1', port: 0 };

  describe(`${name} transport compliance`, () => {
    const listeners = new Set<Listener>();
    const connections = new Set<Connection>();
    const relays = new Set<Relay>();

    const listen = async (init: Partial<ListenInit> = {}): Promise<Listener> => {
      const listener = await setup.listen({ address: listenAddress, ...init });
      listeners.add(listener);
      return listener;
    };
    const dial = async (address: Address, init: Partial<DialInit> = {}): Promise<Connection> => {
      const connection = await setup.dial({ address, ...init });
      connections.add(connection);
      return connection;
    };
    const accept = async (listener: Listener): Promise<Connection> => {
      const connection = await listener.accept();
      connections.add(connection);
      return connection;
    };
    /** Listens, dials and accepts; returns both ends. */
    const pair = async (
      listenInit: Partial<ListenInit> = {},
      dialInit: Partial<DialInit> = {},
    ): Promise<{ listener: Listener; client: Connection; server: Connection }> => {
      const listener = await listen(listenInit);
      const [client, server] = await Promise.all([dial(listener.address, dialInit), accept(listener)]);
      return { listener, client, server };
    };
    /** The client opens a bidi stream, writes `hello`, the server accepts it. */
    const streamPair = async (
      client: Connection,
      server: Connection,
      hello = bytes('hello'),
    ): Promise<{ local: BidiStream; remote: BidiStream }> => {
      const local = await client.openStream({ kind: 'bidi' });
      const writer = local.writable.getWriter();
      await writer.write(hello);
      writer.releaseLock();
      const remote = await server.acceptStream();
      if (remote.kind !== 'bidi') throw new Error('expected a bidi stream');
      expect(str(await readExactly(remote.readable, hello.byteLength))).toBe(str(hello));
      return { local, remote };
    };

    afterEach(async () => {
      await closeQuietly(connections);
      connections.clear();
      await Promise.all([...listeners].map((listener) => listener.close().catch(() => {})));
      listeners.clear();
      await Promise.all([...relays].map((relay) => relay.close()));
      relays.clear();
    });

    describe('connections', () => {
      test('dial and accept: both ends are open and describe each other', async () => {
        const { listener, client, server } = await pair();
        expect(client.direction).toBe('outbound');
        expect(server.direction).toBe('inbound');
        expect(client.id).not.toBe(server.id);
        expect(client.remoteAddress.port).toBe(listener.address.port);
        expect(server.localAddress.port).toBe(listener.address.port);
        expect(await isPending(client.closed)).toBe(true);
        expect(await isPending(server.closed)).toBe(true);
      });

      test('several dials are accepted in order, each its own connection', async () => {
        const listener = await listen();
        const clients = [await dial(listener.address), await dial(listener.address), await dial(listener.address)];
        const servers = [await accept(listener), await accept(listener), await accept(listener)];
        expect(new Set(servers.map((s) => s.id)).size).toBe(3);
        for (const [i, client] of clients.entries()) {
          const { local } = await streamPair(client, servers[i]!, bytes(`client ${i}`));
          await local.writable.close();
        }
      });

      test.skipIf(!caps.connectRefused)('[connectRefused] dialling where nothing listens fails with ERR_TRANSPORT_CONNECT_REFUSED', async () => {
        const listener = await listen();
        const address = listener.address;
        await listener.close();
        await rejectsWith(dial(address), 'ERR_TRANSPORT_CONNECT_REFUSED');
      });

      test('a clean close is never reported as a failure, on either side', async () => {
        const { client, server } = await pair();
        const { remote } = await streamPair(client, server);
        await client.close();
        // the peer notices (its stream ends, or fails with ERR_TRANSPORT_PEER_CLOSED), then closes too
        expect(await readOutcome(remote.readable, patience)).toMatch(/^(end|ERR_TRANSPORT_PEER_CLOSED)$/);
        await server.close();
        const local = await within(client.closed, patience, 'client.closed');
        const peer = await within(server.closed, patience, 'server.closed');
        expect(local.initiator).toBe('local');
        expect(local.error).toBeUndefined();
        expect(peer.initiator).toBe('remote');
        expect(peer.error).toBeUndefined();
      });

      test('the listener side can close cleanly too', async () => {
        const { client, server } = await pair();
        const { local } = await streamPair(client, server);
        await server.close({ code: CloseCode.NO_ERROR });
        expect(await readOutcome(local.readable, patience)).toMatch(/^(end|ERR_TRANSPORT_PEER_CLOSED)$/);
        await client.close();
        const info = await within(client.closed, patience, 'client.closed');
        expect(info.initiator).toBe('remote');
        expect(info.error).toBeUndefined();
        expect((await within(server.closed, patience, 'server.closed')).initiator).toBe('local');
      });

      test('close is idempotent and later calls fail with ERR_TRANSPORT_CLOSED', async () => {
        const { client, server } = await pair();
        await streamPair(client, server);
        await client.close();
        await client.close();
        await rejectsWith(client.openStream(), 'ERR_TRANSPORT_CLOSED');
        await rejectsWith(client.acceptStream(), 'ERR_TRANSPORT_CLOSED');
      });

      test('a pending acceptStream rejects when the connection is closed locally', async () => {
        const { client, server } = await pair();
        await streamPair(client, server);
        const pending = server.acceptStream();
        pending.catch(() => {});
        await server.close();
        await rejectsWith(pending, 'ERR_TRANSPORT_CLOSED');
      });

      test.skipIf(!caps.closeCodes)('[closeCodes] the peer sees the application close code and reason', async () => {
        const { client, server } = await pair();
        await streamPair(client, server);
        const pending = server.acceptStream();
        pending.catch(() => {});
        await client.close({ code: CloseCode.AUTH_FAILED, reason: 'bad ticket' });
        const info = await within(server.closed, patience, 'server.closed');
        expect(info).toMatchObject({ initiator: 'remote', code: CloseCode.AUTH_FAILED, reason: 'bad ticket' });
        expect(info.error).toBeUndefined();
        expect(await client.closed).toMatchObject({ initiator: 'local', code: CloseCode.AUTH_FAILED, reason: 'bad ticket' });
        const error = await rejectsWith(pending, 'ERR_TRANSPORT_PEER_CLOSED');
        expect(error.closeCode).toBe(CloseCode.AUTH_FAILED);
        expect(error.reason).toBe('bad ticket');
      });

      test.skipIf(!caps.closeCodes)('[closeCodes] a server-side close with a reason reaches the dialer', async () => {
        const { client, server } = await pair();
        await streamPair(client, server);
        await server.close({ code: CloseCode.CLIENT_OUTDATED, reason: 'Your game client needs to be updated.' });
        expect(await within(client.closed, patience, 'client.closed')).toMatchObject({
          initiator: 'remote',
          code: CloseCode.CLIENT_OUTDATED,
          reason: 'Your game client needs to be updated.',
        });
      });
    });

    describe('streams', () => {
      test('echo both ways on one bidi stream', async () => {
        const { client, server } = await pair();
        const { local, remote } = await streamPair(client, server, bytes('ping'));
        await writeAll(remote.writable, bytes('pong'));
        expect(str(await readExactly(local.readable, 4))).toBe('pong');
        await writeAll(local.writable, bytes('again'), { close: true });
        expect(str(await readAll(remote.readable))).toBe('again');
        await writeAll(remote.writable, bytes('bye'), { close: true });
        expect(str(await readAll(local.readable))).toBe('bye');
        expect(await within(local.closed, patience, 'local.closed')).toEqual({});
        expect(await within(remote.closed, patience, 'remote.closed')).toEqual({});
      });

      test('the stream describes itself: ids, kind, initiator', async () => {
        const { client, server } = await pair();
        const { local, remote } = await streamPair(client, server);
        expect(local.kind).toBe('bidi');
        expect(local.initiator).toBe('local');
        expect(remote.initiator).toBe('remote');
        expect(remote.id).toBe(local.id);
      });

      test('half-close: the reader sees the end while the other direction keeps flowing', async () => {
        const { client, server } = await pair();
        const { local, remote } = await streamPair(client, server, bytes('request'));
        await local.writable.close();
        const reader = remote.readable.getReader();
        expect((await reader.read()).done).toBe(true);
        // the other direction still works after the half-close
        const writer = remote.writable.getWriter();
        for (let i = 0; i < 10; i++) await writer.write(bytes(`response ${i};`));
        await writer.close();
        const all = str(await readAll(local.readable));
        expect(all).toBe(Array.from({ length: 10 }, (_, i) => `response ${i};`).join(''));
        expect(await within(local.closed, patience, 'local.closed')).toEqual({});
        expect(await within(remote.closed, patience, 'remote.closed')).toEqual({});
      });

      test('per-stream order: 2 MiB in uneven chunks arrive intact and in order', async () => {
        const { client, server } = await pair();
        const { local, remote } = await streamPair(client, server);
        const data = patternBytes(2 * 1024 * 1024, 7);
        const sizes = [1, 7, 100, 1500, 16_384, 65_536, 3];
        const writing = (async () => {
          const writer = local.writable.getWriter();
          let offset = 0;
          for (let i = 0; offset < data.byteLength; i++) {
            const size = sizes[i % sizes.length]!;
            await writer.write(data.subarray(offset, Math.min(data.byteLength, offset + size)));
            offset += size;
          }
          await writer.close();
        })();
        const received = await readAll(remote.readable);
        await writing;
        expect(received.byteLength).toBe(data.byteLength);
        expect(Buffer.compare(Buffer.from(received), Buffer.from(data))).toBe(0);
      });

      test('a writer is held back (bounded buffering) while the peer does not read', async () => {
        const { client, server } = await pair();
        const { local, remote } = await streamPair(client, server);
        const writer = local.writable.getWriter();
        const chunk = new Uint8Array(64 * 1024);
        const cap = 64 * 1024 * 1024;
        let accepted = 0;
        let blocked = false;
        while (accepted < cap) {
          const ready = writer.ready;
          if (await isPending(ready, 20)) {
            blocked = true;
            break;
          }
          void writer.write(chunk).catch(() => {});
          accepted += chunk.byteLength;
        }
        expect(blocked).toBe(true);
        expect(accepted).toBeLessThan(cap);
        // reading drains it and the writer proceeds
        const reading = readExactly(remote.readable, accepted);
        await within(writer.ready, patience, 'writer.ready after the reader drained');
        expect((await reading).byteLength).toBe(accepted);
      });

      test.skipIf(caps.bidiStreams < 16)('[bidiStreams ≥ 16] 16 concurrent streams each echo their own data', async () => {
        const { client, server } = await pair();
        const count = 16;
        const echoing = (async () => {
          const done: Promise<void>[] = [];
          for (let i = 0; i < count; i++) {
            const stream = await server.acceptStream();
            if (stream.kind !== 'bidi') throw new Error('expected bidi');
            done.push(stream.readable.pipeTo(stream.writable));
          }
          await Promise.all(done);
        })();
        const results = await Promise.all(
          Array.from({ length: count }, async (_, i) => {
            const stream = await client.openStream({ kind: 'bidi' });
            const data = patternBytes(20_000 + i * 1000, i + 1);
            const [, echoed] = await Promise.all([writeAll(stream.writable, data, { chunkSize: 3000, close: true }), readAll(stream.readable)]);
            return Buffer.compare(Buffer.from(echoed), Buffer.from(data));
          }),
        );
        await echoing;
        expect(results).toEqual(Array.from({ length: count }, () => 0));
      });

      test.skipIf(!caps.listenerOpensBidi)('[listenerOpensBidi] the listener side opens a bidi stream', async () => {
        const { client, server } = await pair();
        const stream = await server.openStream({ kind: 'bidi' });
        await writeAll(stream.writable, bytes('from server'), { close: true });
        const incoming = await client.acceptStream();
        expect(incoming.kind).toBe('bidi');
        expect(incoming.initiator).toBe('remote');
        expect(str(await readAll(incoming.readable))).toBe('from server');
      });

      test.skipIf(caps.listenerOpensBidi)('[no listenerOpensBidi] the listener side cannot open a stream: ERR_TRANSPORT_STREAM_LIMIT', async () => {
        const { server } = await pair();
        await rejectsWith(server.openStream({ kind: 'bidi' }), 'ERR_TRANSPORT_STREAM_LIMIT');
      });

      test.skipIf(!caps.uniStreams)('[uniStreams] uni streams from both sides: write-only here, read-only there', async () => {
        const { client, server } = await pair();
        const up = await client.openStream({ kind: 'uni', channel: 'Chunks' });
        expect(up.readable).toBeNull();
        expect(up.channel).toBe('Chunks');
        await writeAll(up.writable, bytes('client uni'), { close: true });
        const upIn = await server.acceptStream();
        expect(upIn.kind).toBe('uni');
        expect(upIn.writable).toBeNull();
        expect(upIn.channel).toBe(inferChannel('uni', 0));
        expect(str(await readAll(upIn.readable))).toBe('client uni');

        const down1 = await server.openStream({ kind: 'uni', channel: 'Chunks' });
        const down2 = await server.openStream({ kind: 'uni', channel: 'WorldMap' });
        await writeAll(down1.writable, bytes('chunks'), { close: true });
        await writeAll(down2.writable, bytes('map'), { close: true });
        const in1 = await client.acceptStream();
        const in2 = await client.acceptStream();
        expect([in1.initiator, in2.initiator]).toEqual(['remote', 'remote']);
        expect([in1.channel, in2.channel]).toEqual(['Chunks', 'WorldMap']);
        expect(str(await readAll(in1.readable))).toBe('chunks');
        expect(str(await readAll(in2.readable))).toBe('map');
        expect(await within(in1.closed, patience, 'uni closed')).toEqual({});
        expect(await within(down1.closed, patience, 'uni closed')).toEqual({});
      });

      test.skipIf(caps.uniStreams)('[no uniStreams] opening a uni stream fails with ERR_TRANSPORT_STREAM_LIMIT', async () => {
        const { client } = await pair();
        await rejectsWith(client.openStream({ kind: 'uni' }), 'ERR_TRANSPORT_STREAM_LIMIT');
      });

      test('opening past the peer\'s stream limit fails with ERR_TRANSPORT_STREAM_LIMIT', async () => {
        const limit = caps.streamLimits ? 2 : caps.bidiStreams;
        const { client, server } = await pair(caps.streamLimits ? { maxStreams: { bidi: 2, uni: 0 } } : {});
        const open = [];
        for (let i = 0; i < limit; i++) open.push(await streamPair(client, server, bytes(`s${i}`)));
        await rejectsWith(client.openStream({ kind: 'bidi' }), 'ERR_TRANSPORT_STREAM_LIMIT');
        // the connection is still fine
        await writeAll(open[0]!.remote.writable, bytes('still here'));
        expect(str(await readExactly(open[0]!.local.readable, 10))).toBe('still here');
      });

      test.skipIf(!caps.streamLimits)('[streamLimits] a finished stream frees its slot', async () => {
        const { client, server } = await pair({ maxStreams: { bidi: 1, uni: 0 } });
        const first = await streamPair(client, server);
        await first.local.writable.close();
        await readAll(first.remote.readable);
        await first.remote.writable.close();
        await readAll(first.local.readable);
        await within(first.local.closed, patience, 'first stream closed');
        const deadline = Date.now() + patience;
        for (;;) {
          try {
            await streamPair(client, server, bytes('second'));
            break;
          } catch (error) {
            if (!isTransportError(error, 'ERR_TRANSPORT_STREAM_LIMIT') || Date.now() > deadline) throw error;
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        }
      });

      test.skipIf(!caps.streamReset)('[streamReset] abort() resets one stream; the peer sees ERR_TRANSPORT_STREAM_RESET and the connection lives on', async () => {
        const { client, server } = await pair();
        const { local, remote } = await streamPair(client, server);
        local.abort({ code: 7 });
        const reader = remote.readable.getReader();
        let error: unknown;
        try {
          for (;;) if ((await reader.read()).done) break;
        } catch (e) {
          error = e;
        }
        expect(isTransportError(error, 'ERR_TRANSPORT_STREAM_RESET')).toBe(true);
        expect((error as TransportError).closeCode).toBe(7);
        expect((await within(local.closed, patience, 'local.closed')).error?.code).toBe('ERR_TRANSPORT_ABORTED');
        expect((await within(remote.closed, patience, 'remote.closed')).error?.code).toBe('ERR_TRANSPORT_STREAM_RESET');
        const again = await streamPair(client, server, bytes('next'));
        await again.local.writable.close();
      });

      test.skipIf(caps.streamReset)('[no streamReset] abort() of the only stream fails the connection; the peer sees a failure, not a clean close', async () => {
        const { client, server } = await pair();
        const { local } = await streamPair(client, server);
        local.abort({ code: 7 });
        const info = await within(server.closed, patience, 'server.closed');
        expect(info.error).toBeDefined();
        expect(info.error?.code).toBe('ERR_TRANSPORT_CONNECTION_LOST');
      });
    });

    describe('abort signals', () => {
      test('dial with an aborted signal rejects with ERR_TRANSPORT_ABORTED', async () => {
        const listener = await listen();
        await rejectsWith(dial(listener.address, { signal: AbortSignal.abort('test') }), 'ERR_TRANSPORT_ABORTED');
        const controller = new AbortController();
        const dialing = dial(listener.address, { signal: controller.signal });
        controller.abort('test');
        await rejectsWith(dialing, 'ERR_TRANSPORT_ABORTED');
      });

      test('accept aborted by its signal rejects; the listener keeps working', async () => {
        const listener = await listen();
        const controller = new AbortController();
        const accepting = listener.accept({ signal: controller.signal });
        controller.abort('test');
        await rejectsWith(accepting, 'ERR_TRANSPORT_ABORTED');
        const [client, server] = await Promise.all([dial(listener.address), accept(listener)]);
        await streamPair(client, server);
      });

      test('openStream and acceptStream honour their signals; the connection keeps working', async () => {
        const { client, server } = await pair();
        await rejectsWith(client.openStream({ signal: AbortSignal.abort('test') }), 'ERR_TRANSPORT_ABORTED');
        const controller = new AbortController();
        const accepting = client.acceptStream({ signal: controller.signal }); // the server opened nothing
        controller.abort('test');
        await rejectsWith(accepting, 'ERR_TRANSPORT_ABORTED');
        await streamPair(client, server);
      });

      test('a read (pipeTo) aborted by its signal stops promptly and cancels the readable', async () => {
        const { client, server } = await pair();
        const { remote } = await streamPair(client, server);
        const controller = new AbortController();
        const received: Uint8Array[] = [];
        const piping = remote.readable.pipeTo(new WritableStream({ write: (chunk) => void received.push(chunk) }), {
          signal: controller.signal,
        });
        controller.abort(new Error('enough'));
        await expect(within(piping, patience, 'pipeTo')).rejects.toThrow('enough');
        // the readable was cancelled: it reads as ended
        expect((await remote.readable.getReader().read()).done).toBe(true);
      });
    });

    describe('failures', () => {
      test.skipIf(setup.vanish === undefined)('[vanish] a vanished peer is detected as ERR_TRANSPORT_IDLE_TIMEOUT', async () => {
        const idleTimeout = 500;
        const listener = await listen({ idleTimeout });
        let target = listener.address;
        let relay: Relay | undefined;
        if (setup.vanish === 'tcp-relay' || setup.vanish === 'udp-relay') {
          relay = setup.vanish === 'tcp-relay' ? await tcpRelay(target) : await udpRelay(target);
          relays.add(relay);
          target = relay.address;
        }
        const [client, server] = await Promise.all([dial(target, { idleTimeout }), accept(listener)]);
        const { remote } = await streamPair(client, server);
        const reading = remote.readable.getReader().read();
        reading.catch(() => {});
        const started = Date.now();
        if (relay !== undefined) relay.blackhole();
        else if (typeof setup.vanish === 'function') await setup.vanish(client);
        const info = await within(server.closed, idleTimeout + patience, 'server.closed after the peer vanished');
        expect(info.error?.code).toBe('ERR_TRANSPORT_IDLE_TIMEOUT');
        expect(info.initiator).toBe('transport');
        expect(Date.now() - started).toBeGreaterThanOrEqual(idleTimeout * 0.5);
        await expect(reading).rejects.toMatchObject({ code: 'ERR_TRANSPORT_IDLE_TIMEOUT' });
      });

      test.skipIf(!caps.keepAlive)('[keepAlive] a live but quiet connection outlives its idle timeout', async () => {
        const idleTimeout = 300;
        const { client, server } = await pair({ idleTimeout }, { idleTimeout });
        await streamPair(client, server);
        await new Promise((resolve) => setTimeout(resolve, idleTimeout * 3));
        expect(await isPending(client.closed)).toBe(true);
        expect(await isPending(server.closed)).toBe(true);
        await streamPair(client, server, bytes('still alive'));
      });

      test.skipIf(!caps.alpn)('[alpn] the listener\'s most preferred common protocol wins', async () => {
        const { client, server } = await pair({ alpn: ['hytale/2', 'hytale/1'] }, { alpn: ['hytale/1', 'hytale/2'] });
        expect(client.alpn).toBe('hytale/2');
        expect(server.alpn).toBe('hytale/2');
      });

      test.skipIf(!caps.alpn)('[alpn] no common protocol: ERR_TRANSPORT_ALPN_MISMATCH on both sides, nothing accepted', async () => {
        const seen: TransportError[] = [];
        const listener = await listen({ alpn: ['hytale/2'], onHandshakeError: (error) => seen.push(error) });
        await rejectsWith(dial(listener.address, { alpn: ['hytale/9'] }), 'ERR_TRANSPORT_ALPN_MISMATCH');
        const deadline = Date.now() + patience;
        while (seen.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
        expect(seen.map((error) => error.code)).toEqual(['ERR_TRANSPORT_ALPN_MISMATCH']);
        // the failed handshake is never accepted: the next accept yields the next good connection
        const [client, server] = await Promise.all([dial(listener.address, { alpn: ['hytale/2'] }), accept(listener)]);
        expect(server.alpn).toBe('hytale/2');
        await streamPair(client, server);
      });

      test.skipIf(caps.alpn)('[no alpn] connections report no ALPN', async () => {
        const { client, server } = await pair();
        expect(client.alpn).toBeUndefined();
        expect(server.alpn).toBeUndefined();
      });

      test.skipIf(!caps.certificates)('[certificates] each side sees the other\'s chain and its x5t#S256 fingerprint', async () => {
        const { client, server } = await pair();
        for (const connection of [client, server]) {
          expect(connection.peerCertificates.length).toBeGreaterThan(0);
          const leaf = connection.peerCertificates[0]!;
          expect(connection.peerCertificateFingerprint).toBe(certificateFingerprint(leaf));
          expect(connection.peerCertificateFingerprint).toMatch(/^[A-Za-z0-9_-]{43}$/);
        }
      });

      test.skipIf(caps.certificates)('[no certificates] connections report no peer certificate', async () => {
        const { client, server } = await pair();
        expect(client.peerCertificates).toEqual([]);
        expect(server.peerCertificateFingerprint).toBeUndefined();
      });
    });

    describe('resources', () => {
      test('nothing is left running after everything is closed, and the address is free again', async () => {
        const baseline = activeResources();
        const listener = await setup.listen({ address: listenAddress, idleTimeout: 1_000 });
        const [client, server] = await Promise.all([
          setup.dial({ address: listener.address, idleTimeout: 1_000 }),
          listener.accept(),
        ]);
        const { local, remote } = await streamPair(client, server);
        await writeAll(remote.writable, patternBytes(100_000), { close: true });
        await readAll(local.readable);
        await local.writable.close();
        await readAll(remote.readable);
        await client.close();
        await server.close();
        await within(server.closed, patience, 'server.closed');
        await listener.close();
        const leftover = await settleResources(baseline, patience);
        expect(leftover).toEqual([]);
        // the address is released: listening on it again works
        const again = await setup.listen({ address: listener.address });
        expect(again.address.port).toBe(listener.address.port);
        await again.close();
        expect(await settleResources(baseline, patience)).toEqual([]);
      });

      test('a connection never accepted is closed with its listener, and nothing is left behind', async () => {
        const baseline = activeResources();
        const listener = await setup.listen({ address: listenAddress });
        const client = await setup.dial({ address: listener.address });
        // never accepted: closing the listener must close it
        await listener.close();
        await client.close();
        await within(client.closed, patience, 'client.closed');
        expect(await settleResources(baseline, patience)).toEqual([]);
      });
    });
  });
}
