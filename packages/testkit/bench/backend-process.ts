/**
 * The simulated backend alone in its own process, for `bench/index.ts`: it prints its address as one
 * JSON line, then answers `stats` lines on stdin with one JSON line of counters, CPU time and memory
 * (after a full GC when run with --expose-gc), `count` lines with the packets received so far (no GC).
 * `quit` closes it.
 *
 *   node --expose-gc --conditions=source --import tsx bench/backend-process.ts quic|tcp digest|count
 */
import { createInterface } from 'node:readline';
import { createBackend } from '../src/index.js';

const transport = process.argv[2] === 'tcp' ? 'tcp' : 'quic';
const packetLog = process.argv[3] === 'count' ? 'count' : 'digest';
const backend = await createBackend({ id: 'bench', transport, packetLog, chunkRadius: 1, quic: { idleTimeout: 120_000 } });
process.stdout.write(`${JSON.stringify({ address: backend.address, fingerprint: backend.certificateFingerprint })}\n`);

const gc = (globalThis as { gc?: () => void }).gc;
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'quit') break;
  if (line === 'count') {
    process.stdout.write(`${JSON.stringify({ packetsIn: backend.counters.packetsIn })}\n`);
    continue;
  }
  if (line === 'stats') {
    if (gc) {
      gc();
      gc();
    }
    const memory = process.memoryUsage();
    const cpu = process.cpuUsage();
    const inWorld = backend.players.filter((p) => p.inWorld).length;
    process.stdout.write(
      `${JSON.stringify({
        at: performance.now(),
        cpuMs: (cpu.user + cpu.system) / 1000,
        heapUsed: memory.heapUsed,
        arrayBuffers: memory.arrayBuffers,
        rss: memory.rss,
        players: backend.players.length,
        inWorld,
        counters: backend.counters,
      })}\n`,
    );
  }
}
await backend.close();
process.exit(0);
