import { describe, expect, test } from 'vitest';
import { transportCompliance } from '@handoff/transport/compliance';
import { backendInitiatedMove } from '../../examples/backend-initiated-move/src/backend-initiated-move.js';
import { captureTap } from '../../examples/capture-tap/src/capture-tap.js';
import { customTransport, meteredCompliance } from '../../examples/custom-transport/src/custom-transport.js';
import { embedMigration } from '../../examples/embed-migration/src/embed-migration.js';
import { hooksRecipe } from '../../examples/hooks/src/hooks.js';

test('the capture-tap recipe splits, taps and forwards every frame', async () => {
  const lines: string[] = [];
  await captureTap((line) => lines.push(line));
  expect(lines.slice(0, 4).map((l) => l.split(' ')[0])).toEqual(['JoinWorld', 'SetClientId', 'SetChunk', 'Ping']);
  expect(lines).toContain('captured: world 0b1e4c2a-7d3f-4e5a-9c8b-1a2b3c4d5e6f, client id 42, chunk columns [{"x":3,"z":-2}]');
  expect(lines.at(-1)).toBe("the client's Pong for ping 1 goes to backend-a");
});

test("the embed-migration recipe moves a player seamlessly through the proxy's own loop, every drop counted under its rule", async () => {
  const lines: string[] = [];
  const report = await embedMigration((line) => lines.push(line));
  expect(report.results.map((r) => [r.kind, r.kind === 'refused' ? undefined : r.target.id])).toEqual([
    ['migrated', 'game-1'],
    ['migrated', 'lobby'],
  ]);
  expect(report.violations).toEqual([]);
  expect(report.reconnects).toBe(0);
  // the only packets missing are those the loop dropped by its source-bound rule, and it counted each one
  expect(report.movementLostWithOldWorld).toBe(report.dropped['source-bound'] ?? 0);
  expect(Object.keys(report.dropped).filter((rule) => !['source-bound', 'pong-for-source', 'pong-for-other-backend', 'pong-unmatched'].includes(rule))).toEqual([]);
  expect(lines.at(-1)).toBe('client: 0 violations, 0 reconnects');
});

describe('the custom-transport recipe', () => {
  // the recipe's transport passes the suite every adapter of the project passes
  transportCompliance('metered(tcp())', meteredCompliance());

  test('carries the backend links of a proxy while a moving player goes lobby → game-1 → lobby, seamlessly', async () => {
    const lines: string[] = [];
    const report = await customTransport((line) => lines.push(line));
    expect(report.moves.map((m) => [m.kind, m.target.id])).toEqual([
      ['migrated', 'game-1'],
      ['migrated', 'lobby'],
    ]);
    expect(report.violations).toEqual([]);
    expect(report.reconnects).toBe(0);
    // the first join and the way back on the lobby, one join on game-1: each link counted, and each one's end
    expect(report.links.lobby).toMatchObject({ connections: 2, streams: 2 });
    expect(report.links['game-1']).toMatchObject({ connections: 1, streams: 1 });
    for (const link of Object.values(report.links)) {
      expect(Object.values(link.closes).reduce((a, b) => a + b, 0)).toBe(link.connections);
      expect(link.bytesSent).toBeGreaterThan(0);
      expect(link.bytesReceived).toBeGreaterThan(0);
    }
    expect(lines.at(-1)).toBe('client: 0 violations, 0 reconnects');
  });
});

test('the hooks recipe denies a move in combat, redirects from a full server, and keeps the movement sent during the move', async () => {
  const lines: string[] = [];
  const report = await hooksRecipe((line) => lines.push(line));
  const [denied, redirected] = report.results;
  expect(denied).toMatchObject({ kind: 'refused', refusal: 'denied', reason: 'in combat (6 s left)', target: { id: 'game-1' } });
  expect(redirected).toMatchObject({ kind: 'migrated', source: { id: 'lobby' }, target: { id: 'game-2', pool: 'games' } });
  expect(report.backend).toBe('game-2');
  // the custom drain policy: nothing the client sent was dropped as source-bound, and all of it was delivered once, in order
  expect(report.droppedToServer['source-bound']).toBeUndefined();
  expect(report.violations).toEqual([]);
  expect(report.reconnects).toBe(0);
  expect(lines[0]).toBe('migrate to game-1: refused (denied: in combat (6 s left)); the player is on lobby');
  expect(lines[1]).toBe('migrate to game-1: migrated to game-2; the player is on game-2');
});

test('the backend-initiated-move recipe: each game server moves the player with a ticket signed by its own key, seamlessly', async () => {
  const lines: string[] = [];
  const report = await backendInitiatedMove((line) => lines.push(line));
  expect(report.moves.map((m) => [m.kind, m.trigger, m.kind === 'refused' ? undefined : m.source.id, m.target.id])).toEqual([
    ['migrated', 'referral', 'lobby', 'game-1'],
    ['migrated', 'referral', 'game-1', 'lobby'],
  ]);
  expect(report.violations).toEqual([]);
  expect(report.referralsSeenByClient).toBe(0);
  expect(report.reconnects).toBe(0);
  expect(report).toMatchObject({ referralsMigrated: 2, referralsForwarded: 0 });
  expect(lines).toContain('proxy: lobby sent a ClientReferral: migrate to game-1');
});
