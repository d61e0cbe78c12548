/**
 * The listener under abuse, over loopback: every limit refuses or closes the offending peer with
 * Hytale's close code (1 RATE_LIMITED for refusals and floods, 4 TIMEOUT for a peer that stops
 * taking data), counts it in `listener.stats`, and leaves other connections alone.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CloseCode, type Connection, type TransportError } from '@handoff/transport';
import { quic, type QuicDialInit, type QuicListener, type QuicListenInit } from '@handoff/transport-quic';
import { lossyRelay } from './helpers/lossy-relay.js';
import { fixtures, loopback, type Fixtures } from './helpers/fixtures.js';

const transport = quic();
let f: Fixtures;
const cleanup: (() => Promise<unknown>)[] = [];
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  f = await fixtures();
});

afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step().catch(() => {});
});

async function listen(init: Partial<QuicListenInit> = {}): Promise<QuicListener> {
  const listener = await transport.listen({ address: loopback, certificate: f.server, clientCertificate: 'required-any', idleTimeout: 5_000, ...init });
  cleanup.push(() => listener.close());
  return listener;
}

async function dial(port: number, init: Partial<QuicDialInit> = {}): Promise<Connection> {
  const connection = await transport.dial({
    address: { host: '127.0.0.1', port },
    certificate: f.player,
    serverTrust: { ca: f.ca.certPem },
    idleTimeout: 5_000,
    ...init,
  });
  cleanup.push(() => connection.close());
  return connection;
}

/** Accepts in the background, keeping what comes. */
function acceptAll(listener: QuicListener): Connection[] {
  const accepted: Connection[] = [];
  void (async () => {
    for (;;) {
      const connection = await listener.accept().catch(() => undefined);
      if (connection === undefined) return;
      cleanup.push(() => connection.close());
      accepted.push(connection);
    }
  })();
  return accepted;
}

async function until(condition: () => boolean, ms = 5_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

describe('connection limits', () => {
  it('refuses connections past the limit per source address with RATE_LIMITED, counts them, and admits again once one ends', async () => {
    const listener = await listen({ limits: { maxConnectionsPerAddress: 2 } });
    const accepted = acceptAll(listener);
    const first = await dial(listener.address.port);
    await dial(listener.address.port);
    const refused = await dial(listener.address.port); // the handshake completes, then the close comes
    expect(await refused.closed).toEqual({ initiator: 'remote', code: CloseCode.RATE_LIMITED, reason: 'Too many connections from your address' });
    expect(listener.stats.refused['connections-per-address']).toBe(1);
    await until(() => accepted.length === 2);
    await first.close();
    await until(() => listener.stats.connections === 1);
    await dial(listener.address.port);
    await until(() => accepted.length === 3); // admitted again; the refused one was never handed out
    expect(listener.stats.refused['connections-per-address']).toBe(1);
  });

  it('refuses connections past the limit in total', async () => {
    const listener = await listen({ limits: { maxConnections: 1 } });
    acceptAll(listener);
    await dial(listener.address.port);
    const refused = await dial(listener.address.port);
    expect(await refused.closed).toMatchObject({ initiator: 'remote', code: CloseCode.RATE_LIMITED, reason: 'Server full' });
    expect(listener.stats.refused.connections).toBe(1);
  });
});

describe('handshake limits', () => {
  it('limits the handshake rate per source address', async () => {
    const listener = await listen({ limits: { handshakeRatePerAddress: { perSecond: 0.01, burst: 2 } } });
    const accepted = acceptAll(listener);
    const dials = await Promise.all([1, 2, 3].map(() => dial(listener.address.port)));
    const closes: unknown[] = [];
    for (const connection of dials) void connection.closed.then((info) => closes.push(info));
    await until(() => closes.length === 1 && accepted.length === 2);
    expect(closes).toEqual([{ initiator: 'remote', code: CloseCode.RATE_LIMITED, reason: 'Too many connection attempts from your address' }]);
    expect(listener.stats.refused['handshake-rate-per-address']).toBe(1);
    await sleep(100);
    expect(closes).toHaveLength(1); // the two admitted ones stay open
  });

  it('limits the handshake rate in total', async () => {
    const listener = await listen({ limits: { handshakeRate: { perSecond: 0.01, burst: 1 } } });
    acceptAll(listener);
    await dial(listener.address.port);
    const refused = await dial(listener.address.port);
    expect(await refused.closed).toMatchObject({ code: CloseCode.RATE_LIMITED, reason: 'Too many connection attempts' });
    expect(listener.stats.refused['handshake-rate']).toBe(1);
  });

  it('abandons a handshake that does not complete within handshakeTimeout and reports it', async () => {
    const errors: TransportError[] = [];
    const listener = await listen({ limits: { handshakeTimeout: 300 }, onHandshakeError: (error) => errors.push(error) });
    // the client's Initial and its Initial with the Retry token get through, nothing after:
    // the listener creates the connection, answers, and never hears the client's Finished
    const relay = await lossyRelay(listener.address.port);
    relay.forwardFirst('toServer', 2);
    cleanup.push(() => relay.close());
    const dialing = transport
      .dial({ address: { host: '127.0.0.1', port: relay.port }, certificate: f.player, serverTrust: { ca: f.ca.certPem }, idleTimeout: 1_500 })
      .then(
        (connection) => connection.closed,
        (error: unknown) => error,
      );
    await until(() => listener.stats.handshakeTimeouts === 1, 3_000);
    await until(() => listener.stats.connections === 0);
    expect(errors.map((e) => e.code)).toEqual(['ERR_TRANSPORT_IDLE_TIMEOUT']);
    await dialing;
  });

  it('refused peers beyond refusalRate cost no handshake: their Initials are dropped and counted', async () => {
    const listener = await listen({ limits: { maxConnections: 1, refusalRate: { perSecond: 0.01, burst: 1 } } });
    acceptAll(listener);
    await dial(listener.address.port);
    const told = await dial(listener.address.port);
    expect(await told.closed).toMatchObject({ code: CloseCode.RATE_LIMITED });
    const turnedAway = await dial(listener.address.port, { idleTimeout: 400 }).then(
      () => undefined,
      (error: TransportError) => error,
    );
    expect(turnedAway?.code).toBe('ERR_TRANSPORT_IDLE_TIMEOUT');
    expect(listener.stats.turnedAway).toBeGreaterThan(0);
    expect(listener.stats.refused.connections).toBe(1);
    expect(listener.stats.connections).toBe(1);
  });
});

describe('inbound limits', () => {
  it('abandons a handshake whose peer sends more than maxHandshakeBytes before completing it', async () => {
    const errors: TransportError[] = [];
    // a client Initial is padded to 1200 bytes; with its Retry-token Initial the client is past 2000
    const listener = await listen({ limits: { maxHandshakeBytes: 2_000 }, onHandshakeError: (error) => errors.push(error) });
    const outcome = await dial(listener.address.port, { idleTimeout: 1_000 }).then(
      (connection) => connection.closed,
      (error: unknown) => error,
    );
    expect(outcome).toBeDefined();
    await until(() => listener.stats.handshakeFloods === 1);
    await until(() => errors.length === 1);
    expect(errors[0]!.code).toBe('ERR_TRANSPORT_PROTOCOL');
    await until(() => listener.stats.connections === 0);
  });

  it('closes a connection that sends datagrams faster than datagramRate (RATE_LIMITED)', async () => {
    const listener = await listen({ limits: { datagramRate: { perSecond: 50, burst: 100 } } });
    const accepted = acceptAll(listener);
    const client = await dial(listener.address.port);
    await until(() => accepted.length === 1);
    const stream = await client.openStream({ kind: 'uni' });
    const writer = stream.writable.getWriter();
    void writer.write(new Uint8Array(1024 * 1024)).catch(() => {}); // some 800 datagrams
    expect(await client.closed).toEqual({ initiator: 'remote', code: CloseCode.RATE_LIMITED, reason: 'Rate limited' });
    expect(listener.stats.datagramFloods).toBe(1);
  });
});

describe('per-connection budgets', () => {
  it('closes a connection whose peer opens streams faster than they are accepted (RATE_LIMITED)', async () => {
    const listener = await listen({ maxPendingStreams: 4 });
    const accepted = acceptAll(listener);
    const client = await dial(listener.address.port);
    await until(() => accepted.length === 1);
    for (let i = 0; i < 10; i++) {
      const stream = await client.openStream({ kind: 'uni' }).catch(() => undefined);
      if (stream === undefined) break;
      const writer = stream.writable.getWriter();
      await writer.write(new Uint8Array([i])).catch(() => {});
      await writer.close().catch(() => {});
    }
    expect(await client.closed).toEqual({ initiator: 'remote', code: CloseCode.RATE_LIMITED, reason: 'Too many streams' });
    expect(listener.stats.streamFloods).toBe(1);
  });

  it('closes a connection whose peer stops reading, after sendStallTimeout, with TIMEOUT', async () => {
    const listener = await listen({ sendStallTimeout: 400 });
    const accepted = acceptAll(listener);
    // the client never reads: its small windows fill and quiche on the server can take no more
    const client = await dial(listener.address.port, { receiveWindow: 64 * 1024, streamReceiveWindow: 32 * 1024, inboundHighWaterMark: 1024 });
    await until(() => accepted.length === 1);
    const server = accepted[0]!;
    const stream = await server.openStream({ kind: 'uni' });
    const writer = stream.writable.getWriter();
    const chunk = new Uint8Array(16 * 1024);
    let written = 0;
    const writing = (async () => {
      for (;;) {
        await writer.ready; // a well-behaved writer: it respects backpressure
        await writer.write(chunk);
        written += chunk.byteLength;
      }
    })().catch((error: TransportError) => error);
    expect(await server.closed).toEqual({ initiator: 'local', code: CloseCode.TIMEOUT, reason: 'Write timeout' });
    expect(await client.closed).toEqual({ initiator: 'remote', code: CloseCode.TIMEOUT, reason: 'Write timeout' });
    expect((await writing)?.code).toBe('ERR_TRANSPORT_CLOSED');
    expect(written).toBeLessThan(512 * 1024); // windows, plus what our writable holds
    expect(listener.stats.slowPeers).toBe(1);
  });

  it('closes a connection whose peer stops reading once maxBufferedBytes wait for it, whatever the application writes', async () => {
    const listener = await listen({ maxBufferedBytes: 1024 * 1024 });
    const accepted = acceptAll(listener);
    const client = await dial(listener.address.port, { receiveWindow: 64 * 1024, streamReceiveWindow: 32 * 1024, inboundHighWaterMark: 1024 });
    await until(() => accepted.length === 1);
    const server = accepted[0]!;
    const stream = await server.openStream({ kind: 'uni' });
    const writer = stream.writable.getWriter();
    const chunk = new Uint8Array(64 * 1024);
    // an application that ignores backpressure: 16 MiB queued at once
    const writes = Array.from({ length: 256 }, () => writer.write(chunk).then(
      () => 'written',
      () => 'failed',
    ));
    expect(await server.closed).toEqual({ initiator: 'local', code: CloseCode.TIMEOUT, reason: 'Write timeout' });
    const outcomes = await Promise.all(writes);
    // quiche took what the windows allowed; everything queued past the budget was dropped
    expect(outcomes.filter((o) => o === 'written').length * chunk.byteLength).toBeLessThan(1024 * 1024);
    expect(outcomes.filter((o) => o === 'failed').length).toBeGreaterThan(200);
    expect(listener.stats.slowPeers).toBe(1);
    expect((await client.closed).code).toBe(CloseCode.TIMEOUT);
  });

  it("bounds what a peer can make the listener read ahead while the application does not read (inboundBudget and windows)", async () => {
    const listener = await listen({ inboundBudget: 128 * 1024, receiveWindow: 256 * 1024, streamReceiveWindow: 128 * 1024 });
    const accepted = acceptAll(listener);
    // uncoalesced: a write resolves once quiche on the client took it, i.e. the server granted credit
    const client = await dial(listener.address.port, { coalesceWrites: false });
    await until(() => accepted.length === 1);
    let taken = 0;
    const chunk = new Uint8Array(8 * 1024);
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        const stream = await client.openStream({ kind: 'uni' });
        const writer = stream.writable.getWriter();
        for (;;) {
          // a write still pending after a second is one the listener's budget holds back
          const ok = await Promise.race([writer.write(chunk).then(() => true), sleep(1_000).then(() => false)]);
          if (!ok) return;
          taken += chunk.byteLength;
        }
      }),
    );
    // connection window + read-ahead budget + one 64 KiB library read per stream + in-flight slack
    expect(taken).toBeLessThan(256 * 1024 + 128 * 1024 + 8 * 64 * 1024 + 256 * 1024);
    expect(taken).toBeGreaterThan(128 * 1024);
  });
});
