/**
 * QUIC measurements beyond the shared ones (`packages/transport/bench/measure.ts`): CPU time per
 * MiB, aggregate throughput over many connections, idle keep-alive cost, round trips while
 * another connection saturates, all through the adapter.
 */
import { performance } from 'node:perf_hooks';
import type { BidiStream, Connection } from '@handoff/transport';
import { connectPair, type BenchPair, type BenchTarget } from '../../transport/bench/measure.js';

export interface Throughput {
  readonly MiBps: number;
  /** CPU time of this process per MiB moved (both ends when they share the process). */
  readonly cpuMsPerMiB: number;
}

const MiB = 1024 * 1024;

function cpuMs(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
}

/** Writes `total` bytes in `chunkSize` writes on `writable`, respecting backpressure. */
export async function pump(writable: WritableStream<Uint8Array>, total: number, chunkSize: number, stop?: () => boolean): Promise<number> {
  const chunk = new Uint8Array(chunkSize).fill(1);
  const writer = writable.getWriter();
  let sent = 0;
  try {
    while (sent < total && stop?.() !== true) {
      if ((writer.desiredSize ?? 0) <= 0) await writer.ready;
      void writer.write(chunk).catch(() => {});
      sent += chunkSize;
    }
    await writer.ready;
  } finally {
    writer.releaseLock();
  }
  return sent;
}

/** Reads until `total` bytes arrived (or the end); returns the count. */
export async function drain(readable: ReadableStream<Uint8Array>, total = Infinity): Promise<number> {
  const reader = readable.getReader();
  let got = 0;
  try {
    while (got < total) {
      const { done, value } = await reader.read();
      if (done) break;
      got += value.byteLength;
    }
  } finally {
    reader.releaseLock();
  }
  return got;
}

/** One-way throughput on an open pair, with CPU time. */
export async function oneWay(pair: BenchPair, total: number, chunkSize = 64 * 1024): Promise<Throughput> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const reading = drain(pair.remote.readable, total);
  await pump(pair.local.writable, total, chunkSize);
  const got = await reading;
  const elapsed = performance.now() - start;
  if (got < total) throw new Error(`received ${got} of ${total} bytes`);
  return { MiBps: total / MiB / (elapsed / 1000), cpuMsPerMiB: cpuMs(cpu) / (total / MiB) };
}

/** `count` connections to one listener, each writing `perConnection` bytes at once: the sum. */
export async function aggregate(target: BenchTarget, count: number, perConnection: number): Promise<Throughput> {
  const listener = await target.listen({ address: target.address });
  const pairs: { client: Connection; server: Connection; local: BidiStream; remote: BidiStream }[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const [client, server] = await Promise.all([target.dial({ address: listener.address }), listener.accept()]);
      const local = await client.openStream({ kind: 'bidi' });
      const writer = local.writable.getWriter();
      await writer.write(new Uint8Array([0]));
      writer.releaseLock();
      const remote = (await server.acceptStream()) as BidiStream;
      if ((await drain(remote.readable, 1)) !== 1) throw new Error('no first byte');
      pairs.push({ client, server, local, remote });
    }
    const cpu = process.cpuUsage();
    const start = performance.now();
    await Promise.all(
      pairs.map(async (p) => {
        const reading = drain(p.remote.readable, perConnection);
        await pump(p.local.writable, perConnection, 64 * 1024);
        if ((await reading) < perConnection) throw new Error('short read');
      }),
    );
    const elapsed = performance.now() - start;
    const total = count * perConnection;
    return { MiBps: total / MiB / (elapsed / 1000), cpuMsPerMiB: cpuMs(cpu) / (total / MiB) };
  } finally {
    await Promise.all(pairs.flatMap((p) => [p.client.close(), p.server.close()]));
    await listener.close();
  }
}

/** CPU share of one core spent by `count` idle connections (both ends here) over `ms`. */
export async function idleCost(target: BenchTarget, count: number, ms: number): Promise<{ coreShare: number; cpuMs: number }> {
  const listener = await target.listen({ address: target.address });
  const connections: Connection[] = [];
  let ended = 0;
  try {
    for (let i = 0; i < count; i++) {
      const [client, server] = await Promise.all([target.dial({ address: listener.address }), listener.accept()]);
      connections.push(client, server);
      for (const c of [client, server]) void c.closed.then(() => ended++);
    }
    await new Promise((resolve) => setTimeout(resolve, 500)); // handshake leftovers settle
    const cpu = process.cpuUsage();
    const start = performance.now();
    await new Promise((resolve) => setTimeout(resolve, ms));
    const used = cpuMs(cpu);
    if (ended > 0) throw new Error('an idle connection closed');
    return { coreShare: used / (performance.now() - start), cpuMs: used };
  } finally {
    await Promise.all(connections.map((c) => c.close()));
    await listener.close();
  }
}

/** Round trips on one connection while another connection of this process saturates. */
export async function roundTripsUnderLoad(target: BenchTarget, rounds: number, size = 64): Promise<{ samples: number[]; loadMiBps: number }> {
  const load = await connectPair(target);
  const probe = await connectPair(target);
  let stop = false;
  const loadStart = performance.now();
  // the load flows from the listener to the dialer, as a proxy's bulk traffic (chunks, assets) does
  const loadReading = drain(load.local.readable).catch(() => 0);
  const loading = pump(load.remote.writable, Infinity, 64 * 1024, () => stop);
  try {
    await new Promise((resolve) => setTimeout(resolve, 300)); // the load is under way
    const echo = probe.remote.readable.pipeTo(probe.remote.writable).catch(() => {});
    const writer = probe.local.writable.getWriter();
    const reader = probe.local.readable.getReader();
    const message = new Uint8Array(size).fill(7);
    const samples: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const start = performance.now();
      await writer.write(message);
      let got = 0;
      while (got < size) {
        const { value, done } = await reader.read();
        if (done) throw new Error('stream ended');
        got += value.byteLength;
      }
      samples.push(performance.now() - start);
    }
    stop = true;
    const sent = await loading;
    const loadMiBps = sent / MiB / ((performance.now() - loadStart) / 1000);
    writer.releaseLock();
    reader.releaseLock();
    await probe.close();
    await echo;
    return { samples, loadMiBps };
  } finally {
    stop = true;
    await load.close().catch(() => {});
    await loadReading;
  }
}
