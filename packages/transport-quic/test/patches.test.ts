/**
 * What each patch of `@matrixai/quic` 2.0.9 (`patches/@matrixai__quic@2.0.9.patch`, docs/transports.md
 * § QUIC, Where the time goes) changes, shown on the raw library. Each test fails on the unpatched
 * library; if one starts failing after an upgrade, check whether the patch still applies.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { events as quicEvents, type QUICClient, type QUICConnection, type QUICServer, type QUICStream } from '@matrixai/quic';
import { fixtures, type Fixtures } from './helpers/fixtures.js';
import { rawClient, rawServer } from './helpers/raw-library.js';

let f: Fixtures;
const cleanup: (() => Promise<unknown>)[] = [];
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  f = await fixtures();
});

afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step().catch(() => {});
});

interface Native {
  streamRecv(id: number, data: Uint8Array): unknown;
  streamSend(id: number, data: Uint8Array, fin: boolean): unknown;
  readable(): Iterable<number>;
  writable(): Iterable<number>;
  stats(): { sent: number; recv: number };
}

/** Counts calls of the native connection's methods (the library calls them through `conn`). */
function countCalls(connection: QUICConnection, names: readonly (keyof Native)[]): Record<string, number> {
  const conn = (connection as unknown as { conn: Record<string, (...args: unknown[]) => unknown> }).conn;
  const counts: Record<string, number> = {};
  // the binding's methods live on its prototype: shadow them on this one object
  for (const name of names) {
    counts[name] = 0;
    const original = conn[name]!;
    conn[name] = (...args: unknown[]) => {
      counts[name]!++;
      return original.apply(conn, args);
    };
  }
  return counts;
}

/** A raw server and client with one bidi stream open both ways (a byte each way). */
async function rawPair(serverConfig: Record<string, unknown> = {}): Promise<{
  server: QUICServer;
  client: QUICClient;
  serverConnection: QUICConnection;
  local: QUICStream;
  remote: QUICStream;
}> {
  const { server, connections } = await rawServer(f.server, { verifyPeer: false, maxIdleTimeout: 10_000, ...serverConfig });
  cleanup.push(() => server.stop({ force: true }));
  const client = await rawClient(server.port, { verifyPeer: false, maxIdleTimeout: 10_000 });
  cleanup.push(() => client.destroy({ force: true }));
  while (connections.length === 0) await sleep(5);
  const serverConnection = connections[0]!;
  const arrived = new Promise<QUICStream>((resolve) =>
    serverConnection.addEventListener(quicEvents.EventQUICConnectionStream.name, (evt: Event) => resolve((evt as quicEvents.EventQUICConnectionStream).detail), {
      once: true,
    }),
  );
  const local = client.connection.newStream('bidi');
  const writer = local.writable.getWriter();
  await writer.write(new Uint8Array([1]));
  writer.releaseLock();
  const remote = await arrived;
  const reader = remote.readable.getReader();
  await reader.read();
  reader.releaseLock();
  return { server, client, serverConnection, local, remote };
}

describe('patch 1: batched I/O', () => {
  it('answers a burst of datagrams with a few datagrams, not one (an ACK) per datagram', async () => {
    const { serverConnection, local, remote } = await rawPair();
    const serverNative = (serverConnection as unknown as { conn: Native }).conn;
    const sentBefore = serverNative.stats().sent;
    const receivedBefore = serverNative.stats().recv;
    const reading = (async () => {
      const reader = remote.readable.getReader();
      let got = 0;
      while (got < 512 * 1024) got += (await reader.read()).value!.byteLength;
    })();
    const writer = local.writable.getWriter();
    for (let i = 0; i < 8; i++) await writer.write(new Uint8Array(64 * 1024));
    await reading;
    const received = serverNative.stats().recv - receivedBefore;
    const sent = serverNative.stats().sent - sentBefore;
    expect(received).toBeGreaterThan(350); // 512 KiB in 1350-byte datagrams
    expect(sent).toBeLessThan(received / 3); // unpatched: about one per received datagram
  });

  it('tells a stream of a STOP_SENDING that arrives in the same batch as a RESET_STREAM', async () => {
    const { local, remote } = await rawPair();
    const writeClosed = new Promise<unknown>((resolve) => {
      remote.addEventListener(quicEvents.EventQUICStreamCloseWrite.name, (evt: Event) => resolve((evt as quicEvents.EventQUICStreamCloseWrite).detail), {
        once: true,
      });
    });
    local.cancel(new Error('both ways')); // STOP_SENDING and RESET_STREAM, sent in one flush
    const detail = await Promise.race([writeClosed, sleep(2_000).then(() => 'never')]);
    expect(detail).not.toBe('never');
    expect(detail).toBeDefined(); // an error: the peer stopped our writable
  });
});

describe('patch 2: stream memory', () => {
  it('lets the streams of a connection share one read buffer', async () => {
    const { client, local } = await rawPair();
    const other = client.connection.newStream('bidi');
    const chunk = (s: QUICStream): unknown => (s as unknown as { readableChunk: Uint8Array }).readableChunk;
    expect(chunk(other)).toBeInstanceOf(Uint8Array);
    expect(chunk(other)).toBe(chunk(local));
  });

  it('pulls nothing out of quiche for a stream nobody reads', async () => {
    const { serverConnection, client } = await rawPair();
    const counts = countCalls(serverConnection, ['streamRecv']);
    const arrived = new Promise<QUICStream>((resolve) =>
      serverConnection.addEventListener(quicEvents.EventQUICConnectionStream.name, (evt: Event) => resolve((evt as quicEvents.EventQUICConnectionStream).detail), {
        once: true,
      }),
    );
    const stream = client.connection.newStream('uni');
    const writer = stream.writable.getWriter();
    await writer.write(new Uint8Array(32 * 1024));
    const remote = await arrived;
    await sleep(200);
    expect(counts.streamRecv).toBe(0); // unpatched: one chunk pulled ahead
    const reader = remote.readable.getReader();
    expect((await reader.read()).value!.byteLength).toBeGreaterThan(0);
    expect(counts.streamRecv).toBeGreaterThan(0);
  });
});

describe('patch 3: no stream iterators per flush', () => {
  it('never iterates writable streams, and lists readable ones only when some are', async () => {
    const { client, local, remote } = await rawPair();
    const counts = countCalls(client.connection, ['writable', 'readable']);
    const reading = (async () => {
      const reader = remote.readable.getReader();
      let got = 0;
      while (got < 256 * 1024) got += (await reader.read()).value!.byteLength;
    })();
    const writer = local.writable.getWriter();
    for (let i = 0; i < 4; i++) await writer.write(new Uint8Array(64 * 1024));
    await reading;
    // the client only sends here: nothing of its own is readable, so no iterator was created
    expect(counts).toEqual({ writable: 0, readable: 0 });
  });

  it('wakes a writer blocked by flow control when credit returns, and not before', async () => {
    const { local, remote, client } = await rawPair({ initialMaxStreamDataBidiRemote: 16 * 1024, maxStreamWindow: 16 * 1024 });
    const counts = countCalls(client.connection, ['streamSend']);
    const writer = local.writable.getWriter();
    const writing = writer.write(new Uint8Array(256 * 1024)); // 16× the peer's window
    await sleep(300); // the server reads nothing meanwhile
    const whileBlocked = counts.streamSend!;
    expect(whileBlocked).toBeLessThan(10); // unpatched (with batching): a retry every event-loop turn
    const reader = remote.readable.getReader();
    let got = 0;
    while (got < 256 * 1024) got += (await reader.read()).value!.byteLength;
    await writing;
  });
});
