/**
 * Memory-transport numbers: set-up, small-message round trip, one-way throughput, 100-byte frames/s
 * with and without write coalescing (`coalescingWritable`). `pnpm bench transport [--json]`.
 */
import { emit, log } from '../../../scripts/bench-kit.js';
import { memory } from '../src/index.js';
import { measureAll, type BenchTarget } from './measure.js';

const transport = memory();
const target: BenchTarget = {
  name: 'memory',
  address: { host: 'bench', port: 0 },
  listen: (init) => transport.listen(init),
  dial: (init) => transport.dial(init),
};

const result = await measureAll(target);
const s = result.setupMs as { median: number; p99: number };
const r = result.roundTripMs as { median: number; p99: number };
log(`memory  set-up             median ${(s.median * 1000).toFixed(1)} µs   p99 ${(s.p99 * 1000).toFixed(1)} µs`);
log(`memory  round trip (64 B)  median ${(r.median * 1000).toFixed(1)} µs   p99 ${(r.p99 * 1000).toFixed(1)} µs`);
log(`memory  throughput         ${(result.throughputMiBps as number).toFixed(0)} MiB/s (64 KiB writes)`);
log(`memory  100-byte frames    ${Math.round(result.framesPerSecond as number).toLocaleString('en')} frames/s uncoalesced`);
log(`memory  100-byte frames    ${Math.round(result.framesPerSecondCoalesced as number).toLocaleString('en')} frames/s with coalescingWritable`);
emit({ memory: result });
