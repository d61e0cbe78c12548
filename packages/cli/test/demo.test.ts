/**
 * `handoff demo --json` is the project's headline: a player moved a → b → a → b (admin API and ticketed
 * referrals) and through a crash, on one QUIC connection, judged by the strict client. This test fails
 * when its summary shows a reconnect, a violation, a lost, duplicated or reordered packet, or a failed
 * migration. It asserts counts only, never time.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { main } from '@handoff/cli';
import { analyzeTrace, parseTrace } from '../src/trace/analyze.js';
import { blockOf, renderGeneration } from '../src/trace/packet-set-doc.js';

const DOC = new URL('../../../docs/handoff-packet-set.md', import.meta.url);
const dir = mkdtempSync(join(tmpdir(), 'handoff-demo-test-'));

async function demo(...args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['demo', '--json', ...args], { stdout: (l) => out.push(l), stderr: (l) => err.push(l) });
  return { code, out, err };
}

describe.each(['G3', 'G2', 'G1'] as const)('handoff demo --json (%s)', (generation) => {
  const trace = join(dir, `${generation}.jsonl`);

  test('every migration is seamless: no reconnect, no violation, nothing lost or reordered', { timeout: 90_000 }, async () => {
    const r = await demo('--generation', generation, '--trace', trace);
    const last = r.out.at(-1)!;
    const summary = JSON.parse(last);
    // exactly one JSON object, on the last line
    expect(r.out.slice(0, -1).filter((line) => line.trimStart().startsWith('{'))).toEqual([]);
    expect(r.err).toEqual([]);

    expect(summary).toMatchObject({
      generation,
      backends: { a: 'quic', b: 'tcp' },
      migrationsAttempted: 4,
      migrationsSucceeded: 4,
      clientReconnects: 0,
      violations: [],
      packetsLost: 0,
      packetsReordered: 0,
      packetsDuplicated: 0,
      seamless: true,
    });
    expect(summary.failure).toBeUndefined();
    expect(summary.migrations.map((m: { trigger: string; source: string; target: string; outcome: string }) => [m.trigger, m.source, m.target, m.outcome])).toEqual([
      ['api', 'a', 'b', 'migrated'],
      ['referral', 'b', 'a', 'migrated'],
      ['referral', 'a', 'b', 'migrated'],
      ['failover', 'b', 'a', 'migrated'],
    ]);
    // every migration went through every phase, and its stall was measured
    for (const m of summary.migrations) {
      expect(m.phases.map((p: { phase: string }) => p.phase)).toEqual(['Prepare', 'Auth', 'Sync', 'Freeze', 'Cutover', 'Resume', 'Cleanup']);
      expect(m.stallMs).toEqual(expect.any(Number));
    }
    expect(summary.maxStallMs).toBe(Math.max(...summary.migrations.map((m: { stallMs: number }) => m.stallMs)));
    // the client played throughout: movement in every world
    expect(summary.movementSent).toBeGreaterThanOrEqual(50);
    expect(r.code).toBe(0);
  });

  test('its trace gives the packet set docs/handoff-packet-set.md shows (else: pnpm docs:packet-set)', () => {
    const text = readFileSync(trace, 'utf8');
    expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/); // no JWT: not a ticket, not a token
    const parsed = parseTrace(text);
    expect(parsed.invalidCount).toBe(0);
    const set = analyzeTrace(parsed).packetSet.find((s) => s.generation === generation);
    expect(set?.migrations).toBe(4);
    expect(renderGeneration(set!)).toBe(blockOf(readFileSync(DOC, 'utf8'), generation));
  });
});

test('a trace file that cannot be written: one line, status 2, nothing started', async () => {
  const r = await demo('--trace', join(dir, 'no-such-dir', 'x.jsonl'));
  expect(r.code).toBe(2);
  expect(r.out).toEqual([]);
  expect(r.err).toEqual([expect.stringMatching(/^ERR_CLI_FILE: cannot write the trace to .*x\.jsonl: ENOENT$/)]);
});

test('a bad generation is a usage error', async () => {
  const r = await demo('--generation', 'G9');
  expect(r.code).toBe(2);
  expect(r.err).toEqual([expect.stringMatching(/^ERR_CLI_USAGE: .*G1, G2 or G3/)]);
});
