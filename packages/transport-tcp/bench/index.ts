/**
 * TCP numbers over loopback: set-up, small-message round trip, one-way throughput, 100-byte frames/s
 * with and without write coalescing (cork/writev). Uses the shared measurements of
 * `packages/transport/bench/measure.ts`. `pnpm bench transport-tcp [--json]`.
 */
import { emit, log, type Stats } from '../../../scripts/bench-kit.js';
import { measureFrames, measureRoundTrip, measureSetup, measureThroughput, type BenchTarget } from '../../transport/bench/measure.js';
import { tcp } from '../src/index.js';

function target(coalesceWrites: boolean): BenchTarget {
  const transport = tcp({ coalesceWrites });
  return {
    name: `tcp${coalesceWrites ? '' : ' (no coalescing)'}`,
    address: { host: '127.0.0.1', port: 0 },
    listen: (init) => transport.listen(init),
    dial: (init) => transport.dial(init),
  };
}

const plain = target(false);
const coalesced = target(true);
const us = (ms: number): string => `${(ms * 1000).toFixed(1)} µs`;
const line = (label: string, s: Stats): void => log(`tcp  ${label.padEnd(34)} median ${us(s.median)}   p99 ${us(s.p99)}`);

const setupMs = await measureSetup(coalesced);
line('set-up', setupMs);
const roundTripMs = await measureRoundTrip(plain);
line('round trip (64 B), no coalescing', roundTripMs);
const roundTripCoalescedMs = await measureRoundTrip(coalesced);
line('round trip (64 B), coalescing', roundTripCoalescedMs);
const throughputMiBps = await measureThroughput(coalesced);
log(`tcp  throughput                         ${throughputMiBps.toFixed(0)} MiB/s (64 KiB writes)`);
const framesPerSecond = await measureFrames(plain);
log(`tcp  100-byte frames                    ${Math.round(framesPerSecond).toLocaleString('en')} frames/s without coalescing`);
const framesPerSecondCoalesced = await measureFrames(coalesced);
log(`tcp  100-byte frames                    ${Math.round(framesPerSecondCoalesced).toLocaleString('en')} frames/s with coalesceWrites (cork/writev)`);
emit({ tcp: { setupMs, roundTripMs, roundTripCoalescedMs, throughputMiBps, framesPerSecond, framesPerSecondCoalesced } });
