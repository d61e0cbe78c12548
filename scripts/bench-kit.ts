/**
 * Tiny helpers shared by the benchmark scripts (`packages/<pkg>/bench/index.ts`).
 *
 * Benchmarks print numbers; they never pass or fail. Every script accepts `--json`
 * and then prints exactly one JSON object on stdout (human lines go to stderr).
 */
import { performance } from 'node:perf_hooks';

export const jsonMode = process.argv.includes('--json');

export interface Stats {
  readonly samples: number;
  readonly median: number;
  readonly p99: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
}

export function stats(values: readonly number[]): Stats {
  if (values.length === 0) throw new Error('stats of no samples');
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
  return { samples: sorted.length, median: at(0.5), p99: at(0.99), min: sorted[0]!, max: sorted[sorted.length - 1]!, mean };
}

/** Runs `fn` `rounds` times (after `warmup` rounds) and returns the per-round durations in ms. */
export async function timeRounds(fn: () => unknown, rounds: number, warmup = Math.ceil(rounds / 10)): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const start = performance.now();
    await fn();
    out.push(performance.now() - start);
  }
  return out;
}

/** Operations per second of a synchronous `fn`, as the median of `rounds` rounds of `batch` calls each. */
export function opsPerSecond(fn: () => unknown, batch: number, rounds = 15): { opsPerSecond: number; rounds: Stats } {
  for (let i = 0; i < batch; i++) fn();
  const durations: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const start = performance.now();
    for (let i = 0; i < batch; i++) fn();
    durations.push(performance.now() - start);
  }
  const s = stats(durations);
  return { opsPerSecond: (batch / s.median) * 1000, rounds: s };
}

/** Logs a human line (stderr in --json mode, stdout otherwise). */
export function log(line: string): void {
  if (jsonMode) process.stderr.write(`${line}\n`);
  else process.stdout.write(`${line}\n`);
}

/** Prints the final result object when in --json mode. */
export function emit(result: unknown): void {
  if (jsonMode) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}
