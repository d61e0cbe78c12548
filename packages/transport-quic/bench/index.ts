/**
 * QUIC numbers over loopback, `pnpm bench transport-quic [--json]`. Everything goes through the
 * adapter (`quic()`) with 1350-byte datagrams (quiche's default maximum UDP payload, a real-path
 * size), against node:tls over TCP measured in the same run as the machine's practical ceiling
 * for an encrypted byte stream; every QUIC throughput is also shown as a ratio to it.
 *
 * Measurements alternate QUIC / TLS round by round (medians reported), so a busy machine skews
 * both alike: one-way throughput (64 KiB writes) with both ends in one process and in two
 * processes, CPU time per MiB, 100-byte frames/s (coalesced and one write each), aggregate
 * throughput over 10 and 100 connections in one process, 64-byte round trips idle and while
 * another connection saturates, and the CPU cost of 100 idle connections (keep-alives).
 * The raw `@matrixai/quic` (patched like the adapter uses it) is measured beside the adapter for
 * one-way throughput and round trips. `QUIC_BENCH_QUICK=1` shrinks everything (a smoke run).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { BidiStream, Connection } from '@handoff/transport';
import { emit, log, stats, type Stats } from '../../../scripts/bench-kit.js';
import { connectPair, measureFrames, measureRoundTrip, type BenchTarget } from '../../transport/bench/measure.js';
import { createDevCa, quic } from '../src/index.js';
import { aggregate, drain, idleCost, oneWay, pump, roundTripsUnderLoad, type Throughput } from './quic.js';
import { rawTarget } from './raw-target.js';
import { tlsDial, tlsFrames, tlsOneWay, tlsPair, tlsRoundTrips, writeAll } from './tls.js';

const quick = process.env.QUIC_BENCH_QUICK === '1';
const MiB = 1024 * 1024;
const ROUNDS = quick ? 1 : 3;
const ONE_WAY_MIB = quick ? 8 : 64;
const TWO_PROCESS_MIB = quick ? 16 : 128;
const FRAMES = quick ? 20_000 : 200_000;
const FRAMES_UNCOALESCED = quick ? 10_000 : 60_000;
const RTT_ROUNDS = quick ? 300 : 2_000;
const AGGREGATE_10_MIB = quick ? 2 : 16; // per connection
const AGGREGATE_100_MIB = quick ? 0.25 : 2;
const IDLE_CONNECTIONS = 100;
const IDLE_MS = quick ? 3_000 : 21_000; // two keep-alive periods at the default 30 s idle timeout

const here = dirname(fileURLToPath(import.meta.url));
const ca = await createDevCa();
const serverCert = await ca.issue({ commonName: 'localhost', usage: 'server' });
const clientCert = await ca.issue({ commonName: 'bench-client', usage: 'client' });

function adapter(coalesceWrites = true): BenchTarget {
  const transport = quic();
  return {
    name: `quic${coalesceWrites ? '' : ' (coalesceWrites: false)'}`,
    address: { host: '127.0.0.1', port: 0 },
    listen: (init) =>
      transport.listen({
        ...init,
        certificate: serverCert,
        clientCertificate: { policy: 'required-and-verified', ca: ca.certPem },
        coalesceWrites,
        // every bench connection comes from 127.0.0.1: lift the per-address limits; and the bench
        // uploads in bulk, faster than the default datagram rate of a client-facing listener
        limits: {
          maxConnectionsPerAddress: 1_000,
          handshakeRatePerAddress: { perSecond: 1_000, burst: 1_000 },
          datagramRate: { perSecond: 1e9, burst: 1e9 },
        },
      }),
    dial: (init) => transport.dial({ ...init, certificate: clientCert, serverTrust: { ca: ca.certPem }, coalesceWrites }),
  };
}

const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const medianThroughput = (runs: readonly Throughput[]): Throughput => ({
  MiBps: median(runs.map((r) => r.MiBps)),
  cpuMsPerMiB: median(runs.map((r) => r.cpuMsPerMiB)),
});
const f1 = (n: number): string => n.toFixed(1);
const ms = (n: number): string => `${n.toFixed(3)} ms`;

// ---- one process: one-way throughput ---------------------------------------------------------

async function quicOneWay(target: BenchTarget, mib: number): Promise<Throughput> {
  const pair = await connectPair(target);
  try {
    return await oneWay(pair, mib * MiB);
  } finally {
    await pair.close();
  }
}

async function tlsOneWayRun(mib: number): Promise<Throughput> {
  const pair = await tlsPair(ca, serverCert, clientCert);
  try {
    const r = await tlsOneWay(pair, mib * MiB, 64 * 1024);
    return { MiBps: (r.bytesPerMs * 1000) / MiB, cpuMsPerMiB: r.cpuMs / mib };
  } finally {
    await pair.close();
  }
}

// ---- two processes -----------------------------------------------------------------------------

async function startPeer(role: 'quic' | 'tls'): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', join(here, 'peer.ts'), role], {
    cwd: join(here, '..'),
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  child.stdin!.end(JSON.stringify({ ca: ca.certPem, server: serverCert }));
  const lines = createInterface({ input: child.stdout! });
  const [line] = (await once(lines, 'line')) as [string];
  return { child, port: (JSON.parse(line) as { port: number }).port };
}

function header(total: number): Uint8Array {
  const out = Buffer.alloc(8);
  out.writeBigUInt64BE(BigInt(total));
  return out;
}

/** Client here, receiver in a child process: MiB/s, and CPU per MiB of both processes. */
async function quicTwoProcess(port: number, mib: number): Promise<Throughput> {
  const transport = quic();
  const client = await transport.dial({ address: { host: '127.0.0.1', port }, certificate: clientCert, serverTrust: { ca: ca.certPem } });
  try {
    const stream = (await client.openStream()) as BidiStream;
    const total = mib * MiB;
    const cpu = process.cpuUsage();
    const start = performance.now();
    const writer = stream.writable.getWriter();
    await writer.write(header(total));
    writer.releaseLock();
    const answer = new Response(stream.readable).text();
    await pump(stream.writable, total, 64 * 1024);
    const peer = JSON.parse(await answer) as { cpuMs: number };
    const elapsed = performance.now() - start;
    const used = process.cpuUsage(cpu);
    return { MiBps: mib / (elapsed / 1000), cpuMsPerMiB: ((used.user + used.system) / 1000 + peer.cpuMs) / mib };
  } finally {
    await client.close();
  }
}

async function tlsTwoProcess(port: number, mib: number): Promise<Throughput> {
  const socket = await tlsDial(ca, clientCert, port);
  try {
    const total = mib * MiB;
    const cpu = process.cpuUsage();
    const start = performance.now();
    let answer = '';
    socket.on('data', (data: Buffer) => (answer += data.toString()));
    const ended = once(socket, 'end');
    socket.write(header(total));
    await writeAll(socket, total, 64 * 1024);
    await ended;
    const elapsed = performance.now() - start;
    const used = process.cpuUsage(cpu);
    const peer = JSON.parse(answer) as { cpuMs: number };
    return { MiBps: mib / (elapsed / 1000), cpuMsPerMiB: ((used.user + used.system) / 1000 + peer.cpuMs) / mib };
  } finally {
    socket.destroy();
  }
}

// ---- round trips ---------------------------------------------------------------------------------

async function tlsRoundTripStats(rounds: number): Promise<Stats> {
  const pair = await tlsPair(ca, serverCert, clientCert);
  try {
    return stats(await tlsRoundTrips(pair, rounds, 64));
  } finally {
    await pair.close();
  }
}

async function tlsAggregate(count: number, perConnectionMiB: number): Promise<Throughput> {
  const pairs = await Promise.all(Array.from({ length: count }, () => tlsPair(ca, serverCert, clientCert)));
  try {
    const cpu = process.cpuUsage();
    const start = performance.now();
    await Promise.all(pairs.map((pair) => tlsOneWay(pair, perConnectionMiB * MiB, 64 * 1024)));
    const elapsed = performance.now() - start;
    const used = process.cpuUsage(cpu);
    const total = count * perConnectionMiB;
    return { MiBps: total / (elapsed / 1000), cpuMsPerMiB: (used.user + used.system) / 1000 / total };
  } finally {
    await Promise.all(pairs.map((pair) => pair.close()));
  }
}

async function tlsFramesRun(frames: number, coalesce: boolean): Promise<number> {
  const pair = await tlsPair(ca, serverCert, clientCert);
  try {
    return await tlsFrames(pair, frames, 100, coalesce);
  } finally {
    await pair.close();
  }
}

// ---- the run -----------------------------------------------------------------------------------

/** Progress on stderr (the numbers come at the end). */
const step = (what: string): void => {
  process.stderr.write(`  … ${what}\n`);
};

const quicTarget = adapter(true);
const quicUncoalesced = adapter(false);
const raw = rawTarget(ca, serverCert, clientCert);

step('one-way throughput, one process');
const oneProcess = { quic: [] as Throughput[], raw: [] as Throughput[], tls: [] as Throughput[] };
for (let r = 0; r < ROUNDS; r++) {
  oneProcess.quic.push(await quicOneWay(quicTarget, ONE_WAY_MIB));
  oneProcess.raw.push(await quicOneWay(raw, ONE_WAY_MIB));
  oneProcess.tls.push(await tlsOneWayRun(ONE_WAY_MIB));
}

step('one-way throughput, two processes');
const twoProcess = { quic: [] as Throughput[], tls: [] as Throughput[] };
{
  const quicPeer = await startPeer('quic');
  const tlsPeer = await startPeer('tls');
  try {
    for (let r = 0; r < ROUNDS; r++) {
      twoProcess.quic.push(await quicTwoProcess(quicPeer.port, TWO_PROCESS_MIB));
      twoProcess.tls.push(await tlsTwoProcess(tlsPeer.port, TWO_PROCESS_MIB));
    }
  } finally {
    quicPeer.child.kill();
    tlsPeer.child.kill();
  }
}

step('100-byte frames');
const frames = { quicCoalesced: [] as number[], quicOneWriteEach: [] as number[], tlsCorked: [] as number[], tlsOneWriteEach: [] as number[] };
for (let r = 0; r < ROUNDS; r++) {
  frames.quicCoalesced.push(await measureFrames(quicTarget, { frames: FRAMES, rounds: 1 }));
  frames.tlsCorked.push(await tlsFramesRun(FRAMES, true));
  frames.quicOneWriteEach.push(await measureFrames(quicUncoalesced, { frames: FRAMES_UNCOALESCED, rounds: 1 }));
  frames.tlsOneWriteEach.push(await tlsFramesRun(FRAMES_UNCOALESCED, false));
}

step('aggregate throughput');
const aggregates = { quic10: [] as Throughput[], tls10: [] as Throughput[], quic100: [] as Throughput[], tls100: [] as Throughput[] };
for (let r = 0; r < ROUNDS; r++) {
  aggregates.quic10.push(await aggregate(quicTarget, 10, AGGREGATE_10_MIB * MiB));
  aggregates.tls10.push(await tlsAggregate(10, AGGREGATE_10_MIB));
  aggregates.quic100.push(await aggregate(quicTarget, 100, AGGREGATE_100_MIB * MiB));
  aggregates.tls100.push(await tlsAggregate(100, AGGREGATE_100_MIB));
}

step('round trips');
const rtt = { quic: [] as Stats[], quicUncoalesced: [] as Stats[], raw: [] as Stats[], tls: [] as Stats[], quicUnderLoad: [] as Stats[] };
const loadMiBps: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  rtt.quic.push(await measureRoundTrip(quicTarget, RTT_ROUNDS));
  rtt.quicUncoalesced.push(await measureRoundTrip(quicUncoalesced, RTT_ROUNDS));
  rtt.raw.push(await measureRoundTrip(raw, RTT_ROUNDS));
  rtt.tls.push(await tlsRoundTripStats(RTT_ROUNDS));
  const loaded = await roundTripsUnderLoad(quicTarget, RTT_ROUNDS);
  rtt.quicUnderLoad.push(stats(loaded.samples));
  loadMiBps.push(loaded.loadMiBps);
}

step('idle connections');
const idle = await idleCost(quicTarget, IDLE_CONNECTIONS, IDLE_MS);

// ---- report ------------------------------------------------------------------------------------

const mergeStats = (parts: readonly Stats[]): { median: number; p99: number } => ({
  median: median(parts.map((p) => p.median)),
  p99: median(parts.map((p) => p.p99)),
});
const result = {
  datagramBytes: 1350,
  rounds: ROUNDS,
  oneProcess: { quic: medianThroughput(oneProcess.quic), raw: medianThroughput(oneProcess.raw), tls: medianThroughput(oneProcess.tls) },
  twoProcess: { quic: medianThroughput(twoProcess.quic), tls: medianThroughput(twoProcess.tls) },
  framesPerSecond: {
    quicCoalesced: median(frames.quicCoalesced),
    quicOneWriteEach: median(frames.quicOneWriteEach),
    tlsCorked: median(frames.tlsCorked),
    tlsOneWriteEach: median(frames.tlsOneWriteEach),
  },
  aggregate: {
    quic10: medianThroughput(aggregates.quic10),
    tls10: medianThroughput(aggregates.tls10),
    quic100: medianThroughput(aggregates.quic100),
    tls100: medianThroughput(aggregates.tls100),
  },
  roundTripMs: {
    quic: mergeStats(rtt.quic),
    quicUncoalesced: mergeStats(rtt.quicUncoalesced),
    raw: mergeStats(rtt.raw),
    tls: mergeStats(rtt.tls),
    quicUnderLoad: mergeStats(rtt.quicUnderLoad),
    loadMiBps: median(loadMiBps),
  },
  idle: { connections: IDLE_CONNECTIONS, seconds: IDLE_MS / 1000, coreShare: idle.coreShare, cpuMs: idle.cpuMs },
};
const ratio = (q: number, t: number): string => `${((100 * q) / t).toFixed(0)} % of TLS`;
const r = result;
log(`datagrams: ${r.datagramBytes} bytes (quiche's default); medians of ${r.rounds} alternating rounds`);
log(`one-way, one process      quic ${f1(r.oneProcess.quic.MiBps)} MiB/s (${f1(r.oneProcess.quic.cpuMsPerMiB)} CPU ms/MiB)   raw library ${f1(r.oneProcess.raw.MiBps)} MiB/s   tls ${f1(r.oneProcess.tls.MiBps)} MiB/s (${f1(r.oneProcess.tls.cpuMsPerMiB)} CPU ms/MiB)   quic = ${ratio(r.oneProcess.quic.MiBps, r.oneProcess.tls.MiBps)}`);
log(`one-way, two processes    quic ${f1(r.twoProcess.quic.MiBps)} MiB/s (${f1(r.twoProcess.quic.cpuMsPerMiB)} CPU ms/MiB, both)   tls ${f1(r.twoProcess.tls.MiBps)} MiB/s (${f1(r.twoProcess.tls.cpuMsPerMiB)} CPU ms/MiB)   quic = ${ratio(r.twoProcess.quic.MiBps, r.twoProcess.tls.MiBps)}`);
log(`100-byte frames/s         quic coalesced ${Math.round(r.framesPerSecond.quicCoalesced).toLocaleString('en')}   one write each ${Math.round(r.framesPerSecond.quicOneWriteEach).toLocaleString('en')}   tls corked ${Math.round(r.framesPerSecond.tlsCorked).toLocaleString('en')}   one write each ${Math.round(r.framesPerSecond.tlsOneWriteEach).toLocaleString('en')}   quic = ${ratio(r.framesPerSecond.quicCoalesced, r.framesPerSecond.tlsCorked)}`);
log(`aggregate, 10 connections  quic ${f1(r.aggregate.quic10.MiBps)} MiB/s (${f1(r.aggregate.quic10.cpuMsPerMiB)} CPU ms/MiB)   tls ${f1(r.aggregate.tls10.MiBps)} MiB/s   quic = ${ratio(r.aggregate.quic10.MiBps, r.aggregate.tls10.MiBps)}`);
log(`aggregate, 100 connections quic ${f1(r.aggregate.quic100.MiBps)} MiB/s (${f1(r.aggregate.quic100.cpuMsPerMiB)} CPU ms/MiB)   tls ${f1(r.aggregate.tls100.MiBps)} MiB/s   quic = ${ratio(r.aggregate.quic100.MiBps, r.aggregate.tls100.MiBps)}`);
log(`round trip 64 B, idle     quic median ${ms(r.roundTripMs.quic.median)} p99 ${ms(r.roundTripMs.quic.p99)}   uncoalesced ${ms(r.roundTripMs.quicUncoalesced.median)} / ${ms(r.roundTripMs.quicUncoalesced.p99)}   raw ${ms(r.roundTripMs.raw.median)} / ${ms(r.roundTripMs.raw.p99)}   tls ${ms(r.roundTripMs.tls.median)} / ${ms(r.roundTripMs.tls.p99)}`);
log(`round trip 64 B, loaded   quic median ${ms(r.roundTripMs.quicUnderLoad.median)} p99 ${ms(r.roundTripMs.quicUnderLoad.p99)} while another connection moves ${f1(r.roundTripMs.loadMiBps)} MiB/s`);
log(`idle keep-alive           ${r.idle.connections} connections (both ends here), ${r.idle.seconds} s: ${(100 * r.idle.coreShare).toFixed(2)} % of one core`);
emit({ quic: result });
