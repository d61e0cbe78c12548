/**
 * Transport measurements shared by every adapter's bench (`packages/<adapter>/bench/index.ts`).
 * Each takes a {@link BenchTarget}: how to listen and dial with that adapter. Nothing here asserts;
 * it only measures. The QUIC bench reuses these functions unchanged.
 */
import { performance } from 'node:perf_hooks';
import { stats, timeRounds, type Stats } from '../../../scripts/bench-kit.js';
import type { Address, BidiStream, Connection, DialInit, ListenInit, Listener } from '../src/index.js';
import { coalescingWritable } from '../src/index.js';

export interface BenchTarget {
  /** e.g. `'memory'`, `'tcp'`, `'quic'`. */
  readonly name: string;
  readonly address: Address;
  listen(init: ListenInit): Promise<Listener>;
  dial(init: DialInit): Promise<Connection>;
}

/** A connected pair with one bidi stream open on both ends. */
export interface BenchPair {
  readonly listener: Listener;
  readonly client: Connection;
  readonly server: Connection;
  readonly local: BidiStream;
  readonly remote: BidiStream;
  close(): Promise<void>;
}

/** Dials, accepts, opens one stream (writes one byte so that every transport shows it to the peer). */
export async function connectPair(target: BenchTarget): Promise<BenchPair> {
  const listener = await target.listen({ address: target.address });
  const [client, server] = await Promise.all([target.dial({ address: listener.address }), listener.accept()]);
  const local = await client.openStream({ kind: 'bidi' });
  const writer = local.writable.getWriter();
  await writer.write(new Uint8Array([0]));
  writer.releaseLock();
  const remote = (await server.acceptStream()) as BidiStream;
  const reader = remote.readable.getReader();
  await reader.read();
  reader.releaseLock();
  return {
    listener,
    client,
    server,
    local,
    remote,
    async close() {
      await client.close();
      await server.close();
      await listener.close();
    },
  };
}

/** Connection set-up: dial until both ends hold an established connection (ms per round). */
export async function measureSetup(target: BenchTarget, rounds = 200): Promise<Stats> {
  const listener = await target.listen({ address: target.address });
  const open: Connection[] = [];
  const samples = await timeRounds(async () => {
    const [client, server] = await Promise.all([target.dial({ address: listener.address }), listener.accept()]);
    open.push(client, server);
  }, rounds);
  await Promise.all(open.map((connection) => connection.close()));
  await listener.close();
  return stats(samples);
}

/** Round trip of a small message on one stream, echoed by the peer (ms per round trip). */
export async function measureRoundTrip(target: BenchTarget, rounds = 2_000, size = 64): Promise<Stats> {
  const pair = await connectPair(target);
  const echo = pair.remote.readable.pipeTo(pair.remote.writable).catch(() => {});
  const writer = pair.local.writable.getWriter();
  const reader = pair.local.readable.getReader();
  const message = new Uint8Array(size).fill(7);
  const samples = await timeRounds(async () => {
    await writer.write(message);
    let got = 0;
    while (got < size) {
      const { value, done } = await reader.read();
      if (done) throw new Error('stream ended');
      got += value.byteLength;
    }
  }, rounds);
  await writer.close();
  reader.releaseLock();
  await pair.close();
  await echo;
  return stats(samples);
}

/** Pipelined one-way write of `total` bytes in `chunkSize` chunks; returns bytes/ms at the reader. */
async function oneWay(
  pair: BenchPair,
  total: number,
  chunkSize: number,
  writable: WritableStream<Uint8Array> = pair.local.writable,
): Promise<number> {
  const chunk = new Uint8Array(chunkSize).fill(1);
  const reader = pair.remote.readable.getReader();
  const start = performance.now();
  const reading = (async () => {
    let got = 0;
    while (got < total) {
      const { value, done } = await reader.read();
      if (done) break;
      got += value.byteLength;
    }
    return got;
  })();
  const writer = writable.getWriter();
  for (let sent = 0; sent < total; sent += chunkSize) {
    if ((writer.desiredSize ?? 0) <= 0) await writer.ready;
    void writer.write(chunk);
  }
  await writer.ready;
  const got = await reading;
  const elapsed = performance.now() - start;
  writer.releaseLock();
  reader.releaseLock();
  if (got < total) throw new Error(`received ${got} of ${total} bytes`);
  return total / elapsed;
}

/** One-way throughput with 64 KiB writes (MiB/s, median of `rounds`). */
export async function measureThroughput(target: BenchTarget, totalMiB = 64, rounds = 5): Promise<number> {
  const results: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const pair = await connectPair(target);
    const bytesPerMs = await oneWay(pair, totalMiB * 1024 * 1024, 64 * 1024);
    results.push((bytesPerMs * 1000) / (1024 * 1024));
    await pair.close();
  }
  return stats(results).median;
}

/**
 * 100-byte frames on one stream, pipelined (frames/s, median of `rounds`). With `coalesce`, the frames
 * go through {@link coalescingWritable} (for transports without their own coalescing); adapters with
 * built-in coalescing (TCP) measure it by passing a target configured with it on or off.
 */
export async function measureFrames(
  target: BenchTarget,
  options: { readonly frames?: number; readonly frameSize?: number; readonly coalesce?: boolean; readonly rounds?: number } = {},
): Promise<number> {
  const frames = options.frames ?? 100_000;
  const frameSize = options.frameSize ?? 100;
  const results: number[] = [];
  for (let r = 0; r < (options.rounds ?? 5); r++) {
    const pair = await connectPair(target);
    const writable = options.coalesce === true ? coalescingWritable(pair.local.writable) : pair.local.writable;
    const bytesPerMs = await oneWay(pair, frames * frameSize, frameSize, writable);
    results.push((bytesPerMs * 1000) / frameSize);
    await pair.close();
  }
  return stats(results).median;
}

/** Everything above for one target, as one result object. */
export async function measureAll(
  target: BenchTarget,
  options: { readonly framesCoalesced?: BenchTarget | 'helper' } = {},
): Promise<Record<string, number | Stats>> {
  const setup = await measureSetup(target);
  const rtt = await measureRoundTrip(target);
  const throughputMiBps = await measureThroughput(target);
  const framesPerSecond = await measureFrames(target);
  const framesPerSecondCoalesced =
    options.framesCoalesced === undefined || options.framesCoalesced === 'helper'
      ? await measureFrames(target, { coalesce: true })
      : await measureFrames(options.framesCoalesced);
  return { setupMs: setup, roundTripMs: rtt, throughputMiBps, framesPerSecond, framesPerSecondCoalesced };
}
