/**
 * QUIC numbers over loopback, the adapter beside the raw `@matrixai/quic` in the same run:
 * connection set-up, 64-byte round trip (median, p99), one-way throughput, 100-byte frames/s on
 * one stream with and without write coalescing. Uses the shared measurements of
 * `packages/transport/bench/measure.ts`. `pnpm bench transport-quic [--json]`.
 *
 * QUIC here is CPU-bound in JavaScript (~2–3 MiB/s per connection), so the byte counts are
 * smaller than the other transports' benches.
 */
import { emit, log, type Stats } from '../../../scripts/bench-kit.js';
import { measureFrames, measureRoundTrip, measureSetup, measureThroughput, type BenchTarget } from '../../transport/bench/measure.js';
import { createDevCa, quic } from '../src/index.js';
import { rawTarget } from './raw-target.js';

const ca = await createDevCa();
const serverCert = await ca.issue({ commonName: 'localhost', usage: 'server' });
const clientCert = await ca.issue({ commonName: 'bench-client', usage: 'client' });

function adapterTarget(coalesceWrites: boolean): BenchTarget {
  const transport = quic();
  return {
    name: `adapter${coalesceWrites ? ' (coalesceWrites)' : ''}`,
    address: { host: '127.0.0.1', port: 0 },
    listen: (init) =>
      transport.listen({
        ...init,
        certificate: serverCert,
        clientCertificate: { policy: 'required-and-verified', ca: ca.certPem },
        coalesceWrites,
      }),
    dial: (init) => transport.dial({ ...init, certificate: clientCert, serverTrust: { ca: ca.certPem }, coalesceWrites }),
  };
}

const raw = rawTarget(ca, serverCert, clientCert);
const adapter = adapterTarget(false);
const adapterCoalescing = adapterTarget(true);

const SETUP_ROUNDS = 40;
const RTT_ROUNDS = 500;
const THROUGHPUT_MIB = 6;
const FRAMES = 15_000;
/** Every measurement alternates raw / adapter this many times, so a busy machine skews both alike. */
const ALTERNATIONS = 5;

interface Numbers {
  setupMs: Stats;
  roundTripMs: Stats;
  throughputMiBps: number;
  framesPerSecond: number;
  framesPerSecondCoalescingHelper: number;
}

function merge(parts: readonly Stats[]): Stats {
  // medians and p99s of the alternations' own distributions: report their medians
  const mid = <T>(values: T[], key: (v: T) => number): number => {
    const sorted = values.map(key).sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)]!;
  };
  return {
    samples: parts.reduce((n, p) => n + p.samples, 0),
    median: mid([...parts], (p) => p.median),
    p99: mid([...parts], (p) => p.p99),
    min: Math.min(...parts.map((p) => p.min)),
    max: Math.max(...parts.map((p) => p.max)),
    mean: parts.reduce((n, p) => n + p.mean, 0) / parts.length,
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Runs `fn` for each target, alternating, `ALTERNATIONS` times; returns each target's results. */
async function alternate<T>(targets: readonly BenchTarget[], fn: (target: BenchTarget) => Promise<T>): Promise<T[][]> {
  const results: T[][] = targets.map(() => []);
  for (let round = 0; round < ALTERNATIONS; round++) {
    for (const [i, target] of targets.entries()) results[i]!.push(await fn(target));
  }
  return results;
}

async function measure(targets: readonly BenchTarget[]): Promise<Numbers[]> {
  const setup = await alternate(targets, (t) => measureSetup(t, SETUP_ROUNDS));
  const rtt = await alternate(targets, (t) => measureRoundTrip(t, RTT_ROUNDS));
  const throughput = await alternate(targets, (t) => measureThroughput(t, THROUGHPUT_MIB, 1));
  const frames = await alternate(targets, (t) => measureFrames(t, { frames: FRAMES, rounds: 1 }));
  const helper = await alternate(targets, (t) => measureFrames(t, { frames: FRAMES, rounds: 1, coalesce: true }));
  return targets.map((_, i) => ({
    setupMs: merge(setup[i]!),
    roundTripMs: merge(rtt[i]!),
    throughputMiBps: median(throughput[i]!),
    framesPerSecond: median(frames[i]!),
    framesPerSecondCoalescingHelper: median(helper[i]!),
  }));
}

const ms = (value: number): string => `${value.toFixed(2)} ms`;
function report(name: string, n: Numbers): void {
  const label = name.padEnd(22);
  log(`${label} set-up              median ${ms(n.setupMs.median)}   p99 ${ms(n.setupMs.p99)}`);
  log(`${label} round trip (64 B)   median ${ms(n.roundTripMs.median)}   p99 ${ms(n.roundTripMs.p99)}`);
  log(`${label} throughput          ${n.throughputMiBps.toFixed(2)} MiB/s (64 KiB writes)`);
  log(`${label} 100-byte frames     ${Math.round(n.framesPerSecond).toLocaleString('en')} frames/s, one write each`);
  log(`${label} 100-byte frames     ${Math.round(n.framesPerSecondCoalescingHelper).toLocaleString('en')} frames/s through coalescingWritable`);
}

const [rawNumbers, adapterNumbers] = (await measure([raw, adapter])) as [Numbers, Numbers];
report(raw.name, rawNumbers);
report(adapter.name, adapterNumbers);
const builtIn = {
  roundTripMs: merge((await alternate([adapterCoalescing], (t) => measureRoundTrip(t, RTT_ROUNDS)))[0]!),
  framesPerSecond: median((await alternate([adapterCoalescing], (t) => measureFrames(t, { frames: FRAMES, rounds: 1 })))[0]!),
};
log(`${adapterCoalescing.name.padEnd(22)} round trip (64 B)   median ${ms(builtIn.roundTripMs.median)}   p99 ${ms(builtIn.roundTripMs.p99)}`);
log(`${adapterCoalescing.name.padEnd(22)} 100-byte frames     ${Math.round(builtIn.framesPerSecond).toLocaleString('en')} frames/s, built-in coalescing`);

/** Adapter cost relative to raw (1.00 = same; 1.10 = 10 % slower). */
const ratios = {
  setup: adapterNumbers.setupMs.median / rawNumbers.setupMs.median,
  roundTrip: adapterNumbers.roundTripMs.median / rawNumbers.roundTripMs.median,
  throughput: rawNumbers.throughputMiBps / adapterNumbers.throughputMiBps,
  frames: rawNumbers.framesPerSecond / adapterNumbers.framesPerSecond,
  framesCoalescingHelper: rawNumbers.framesPerSecondCoalescingHelper / adapterNumbers.framesPerSecondCoalescingHelper,
};
log(
  `adapter cost / raw cost: set-up ${ratios.setup.toFixed(2)}, round trip ${ratios.roundTrip.toFixed(2)}, throughput ${ratios.throughput.toFixed(2)}, ` +
    `frames ${ratios.frames.toFixed(2)}, frames via helper ${ratios.framesCoalescingHelper.toFixed(2)}`,
);
emit({ quic: { raw: rawNumbers, adapter: adapterNumbers, adapterCoalesceWrites: builtIn, ratios } });
