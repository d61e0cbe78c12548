/**
 * Streams under datagram loss, and the FIN fault of quiche 0.18 behind them.
 *
 * quiche counts a stream's sending side complete once its data is acknowledged, whether or not
 * its FIN is, and forgets a complete stream when an ACK for it arrives. A FIN that travels in a
 * STREAM frame of its own after the data is therefore never retransmitted when its packet is lost
 * and the data's ACK comes first: the peer's stream never ends. The first test shows it against
 * the raw binding (deterministic: we carry the datagrams ourselves); the others show that through
 * the adapter every stream ends and every byte arrives exactly once over a relay that drops 1 %
 * and 5 % of the datagrams, including streams closed a while after their last write (the lone-FIN
 * fence in quic-connection.ts).
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Connection, IncomingStream, Listener } from '@handoff/transport';
import { quic } from '@handoff/transport-quic';
import { native } from '@matrixai/quic';
import { buildQuicheConfig, clientDefault, serverDefault } from '@matrixai/quic/config.js';
import { fixtures, loopback, type Fixtures } from './helpers/fixtures.js';
import { lossyRelay, seededRandom, type LossyRelay } from './helpers/lossy-relay.js';

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

describe('quiche 0.18 (raw binding): a FIN alone in its frame', () => {
  const { quiche } = native;
  const clientHost = { host: '127.0.0.1', port: 1 };
  const serverHost = { host: '127.0.0.1', port: 2 };
  const scratch = Buffer.alloc(1500);

  function connectedPair(): { client: native.Connection; server: native.Connection } {
    const common = { applicationProtos: ['hytale/2'], maxIdleTimeout: 10_000, enableEarlyData: false };
    const serverConfig = buildQuicheConfig({ ...serverDefault, ...common, key: f.server.keyPem, cert: f.server.certPem, verifyPeer: false });
    const clientConfig = buildQuicheConfig({ ...clientDefault, ...common, verifyPeer: false });
    const id = (): Uint8Array => globalThis.crypto.getRandomValues(new Uint8Array(quiche.MAX_CONN_ID_LEN));
    const client = quiche.Connection.connect('localhost', id(), clientHost, serverHost, clientConfig);
    const server = quiche.Connection.accept(id(), null, serverHost, clientHost, serverConfig);
    for (let round = 0; round < 10 && !(client.isEstablished() && server.isEstablished()); round++) exchange(client, server);
    exchange(client, server);
    return { client, server };
  }

  function drain(connection: native.Connection): Buffer[] {
    const out: Buffer[] = [];
    for (;;) {
      const sent = connection.send(scratch);
      if (sent === null) return out;
      out.push(Buffer.from(scratch.subarray(0, sent[0])));
    }
  }

  function deliver(to: native.Connection, datagrams: readonly Buffer[], toServer: boolean): void {
    for (const datagram of datagrams) {
      to.recv(datagram, toServer ? { from: clientHost, to: serverHost } : { from: serverHost, to: clientHost });
    }
  }

  function exchange(client: native.Connection, server: native.Connection): void {
    deliver(server, drain(client), true);
    deliver(client, drain(server), false);
  }

  /** Loses the packet carrying the FIN, lets the server acknowledge the data, then runs both ends for `ms`. */
  async function loseFinThenRun(client: native.Connection, server: native.Connection, ms: number): Promise<boolean> {
    const stream = 2; // the client's first uni stream
    const read = Buffer.alloc(1024);
    deliver(server, drain(client), true); // the data arrives
    server.streamSend(3, new Uint8Array(8), false); // anything ack-eliciting back carries the ACK
    deliver(client, drain(server), false);
    const until = performance.now() + ms;
    while (performance.now() < until && !server.streamFinished(stream)) {
      await sleep(5);
      client.onTimeout();
      server.onTimeout();
      exchange(client, server);
      try {
        server.streamRecv(stream, read);
      } catch {
        // nothing readable yet
      }
    }
    return server.streamFinished(stream);
  }

  it('is never retransmitted once the data before it is acknowledged: the peer stream never ends', async () => {
    const { client, server } = connectedPair();
    client.streamSend(2, new Uint8Array(100), false);
    const data = drain(client);
    client.streamSend(2, new Uint8Array(0), true); // the FIN, in a packet of its own …
    expect(drain(client)).toHaveLength(1); // … which is lost
    deliver(server, data, true);
    server.streamSend(3, new Uint8Array(8), false);
    deliver(client, drain(server), false); // the data's ACK: quiche now forgets the stream
    expect(() => client.streamCapacity(2)).toThrow(/InvalidStreamState/);
    const read = Buffer.alloc(1024);
    server.streamRecv(2, read);
    const until = performance.now() + 1_000;
    while (performance.now() < until) {
      await sleep(5);
      client.onTimeout();
      server.onTimeout();
      exchange(client, server);
    }
    expect(client.stats().lost).toBeGreaterThan(0); // the FIN's packet was declared lost …
    expect(server.streamFinished(2)).toBe(false); // … and never resent
  });

  it('is retransmitted when it travels with the last data', async () => {
    const { client, server } = connectedPair();
    client.streamSend(2, new Uint8Array(100), true);
    drain(client); // data and FIN together, lost
    client.streamSend(2, new Uint8Array(0), true); // a no-op: the FIN is already queued with the data
    expect(await loseFinThenRun(client, server, 2_000)).toBe(true);
  });
});

/** Bytes of stream `seed`: a PRNG sequence, so a lost, duplicated or reordered byte shows. */
function pattern(seed: number, length: number): Uint8Array {
  const random = seededRandom(seed);
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (random() * 256) | 0;
  return out;
}

/** How a stream is written: everything then close in one turn, or close a while after the last write. */
type Ending = 'with-data' | 'later';

async function writeStream(stream: { readonly writable: WritableStream<Uint8Array> }, data: Uint8Array, ending: Ending, random: () => number): Promise<void> {
  const writer = stream.writable.getWriter();
  for (let at = 0; at < data.byteLength; ) {
    const size = Math.min(data.byteLength - at, 1 + Math.floor(random() * 40_000));
    await writer.write(data.subarray(at, at + size));
    at += size;
  }
  if (ending === 'later') await sleep(2 + Math.floor(random() * 3)); // the data is on the wire, its ACK maybe not
  await writer.close();
}

describe.each([0.01, 0.05])('through a relay dropping %f of the datagrams', (dropRate) => {
  let relay: LossyRelay;

  async function lossyPair(): Promise<{ listener: Listener; client: Connection; server: Connection }> {
    const listener = await transport.listen({ address: loopback, certificate: f.server, clientCertificate: 'required-any', idleTimeout: 20_000 });
    cleanup.push(() => listener.close());
    relay = await lossyRelay(listener.address.port, { dropRate, seed: Math.round(dropRate * 1000) });
    cleanup.push(() => relay.close());
    const [client, server] = await Promise.all([
      transport.dial({ address: { host: '127.0.0.1', port: relay.port }, certificate: f.player, serverTrust: { ca: f.ca.certPem }, idleTimeout: 20_000 }),
      listener.accept(),
    ]);
    cleanup.push(() => client.close(), () => server.close());
    return { listener, client, server };
  }

  it('every stream ends and every byte arrives exactly once, both ways, however the stream is closed', async () => {
    const { client, server } = await lossyPair();
    const random = seededRandom(42);
    const lanes = 4;
    const perLane = 30;
    const sizes = new Map<string, number>();
    const plan: { from: Connection; to: Connection; key: string; size: number; kind: 'bidi' | 'uni'; ending: Ending }[] = [];
    for (let lane = 0; lane < lanes; lane++) {
      for (let i = 0; i < perLane; i++) {
        const fromClient = (lane + i) % 3 !== 0;
        const size = i % 10 === 0 ? 150_000 + Math.floor(random() * 100_000) : 1 + Math.floor(random() * 3_000);
        const key = `${lane}:${i}`;
        sizes.set(key, size);
        plan.push({
          from: fromClient ? client : server,
          to: fromClient ? server : client,
          key,
          size,
          kind: fromClient && i % 2 === 0 ? 'bidi' : 'uni',
          ending: i % 2 === 0 ? 'later' : 'with-data',
        });
      }
    }
    // each stream starts with its key (8 bytes, padded), so the reader knows which one it is
    const pending = new Map<string, number>(); // key -> bytes so far, until the stream ends
    const ids = new Map<string, number>();
    const closedBySender = new Set<string>();
    const results: { key: string; bytes: Uint8Array }[] = [];
    const readIncoming = (connection: Connection, count: number): Promise<void> =>
      (async () => {
        for (let n = 0; n < count; n++) {
          const incoming: IncomingStream = await connection.acceptStream();
          if (incoming.writable !== null) void incoming.writable.close().catch(() => {});
          void (async () => {
            const chunks: Uint8Array[] = [];
            let got = 0;
            let key = `${connection.direction} #${n}`;
            const reader = incoming.readable.getReader();
            for (;;) {
              const { done, value } = await reader.read();
              if (done) break;
              chunks.push(value);
              got += value.byteLength;
              if (got >= 8 && got - value.byteLength < 8) {
                pending.delete(key);
                key = Buffer.concat(chunks).subarray(0, 8).toString().trim();
                ids.set(key, incoming.id);
              }
              pending.set(key, got);
            }
            pending.delete(key);
            results.push({ key, bytes: Buffer.concat(chunks) });
          })();
        }
      })();
    const toServer = plan.filter((p) => p.to === server).length;
    readIncoming(server, toServer).catch(() => {}); // the last accept fails when the test closes the connections
    readIncoming(client, plan.length - toServer).catch(() => {});
    await Promise.all(
      Array.from({ length: lanes }, async (_, lane) => {
        const laneRandom = seededRandom(100 + lane);
        for (const step of plan.filter((p) => p.key.startsWith(`${lane}:`))) {
          const stream = step.kind === 'uni' ? await step.from.openStream({ kind: 'uni' }) : await step.from.openStream();
          const header = Buffer.from(step.key.padEnd(8));
          await writeStream(stream, Buffer.concat([header, pattern(step.size, step.size)]), step.ending, laneRandom);
          closedBySender.add(step.key);
        }
      }),
    );
    const deadline = performance.now() + 20_000;
    while (results.length < plan.length && performance.now() < deadline) await sleep(20);
    const describe = (key: string): string => {
      const step = plan.find((p) => p.key === key);
      return `${key} (stream ${ids.get(key)}, ${closedBySender.has(key) ? 'closed' : 'not closed'} by the sender, ${step?.kind} ${step?.from === client ? 'client→server' : 'server→client'}, ${step?.ending}, ${pending.get(key)} of ${(step?.size ?? 0) + 8} bytes)`;
    };
    expect([...pending.keys()].map(describe).join('; '), 'streams that never ended').toBe('');
    expect(results).toHaveLength(plan.length);
    const seen = new Set<string>();
    for (const { key, bytes } of results) {
      const size = sizes.get(key);
      expect(size, `stream ${key}`).toBeDefined();
      expect(seen.has(key), `stream ${key} twice`).toBe(false);
      seen.add(key);
      expect(bytes.byteLength - 8, `stream ${key} length`).toBe(size);
      expect(Buffer.from(bytes.subarray(8)).equals(Buffer.from(pattern(size!, size!))), `stream ${key} content`).toBe(true);
    }
    expect(seen.size).toBe(plan.length);
    expect(relay.counts.toServer.dropped + relay.counts.toClient.dropped).toBeGreaterThan(0);
  }, 60_000);
});
