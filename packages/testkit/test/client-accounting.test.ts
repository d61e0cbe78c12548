/**
 * The accounting rules on their own: which deliveries are lost, duplicated, reordered or misrouted,
 * and which losses a documented rule allows.
 */
import { describe, expect, it } from 'vitest';
import { parseBackendId } from '@handoff/types';
import { account, droppedByRule, type DeliveryLog, type SentPacket } from '../src/client/accounting.js';

const WORLD_A = '0a0a0a0a-0000-4000-8000-00000000000a';
const WORLD_B = '0b0b0b0b-0000-4000-8000-00000000000b';

function movement(index: number, world = 1): SentPacket {
  return { index, name: 'ClientMovement', id: 108, digest: `m${index}`, connection: 1, world };
}

function pong(index: number, pingId: number, pingWorld: number, pingWorldUuid: string, pingWorldLeft: boolean): SentPacket {
  return { index, name: 'Pong', id: 3, digest: `p${index}`, connection: 1, world: pingWorld, pong: { pingId, type: 'Raw', pingWorld, pingWorldUuid, pingWorldLeft } };
}

function log(backend: string, digests: string[], worldUuid?: string): DeliveryLog {
  return { backend: parseBackendId(backend), worldUuid, packets: digests.map((digest) => ({ id: 0, digest })) };
}

const kinds = (findings: ReturnType<typeof account>) => findings.map((f) => f.kind);

describe('accounting', () => {
  it('passes when every packet reached one backend once, in order, ignoring what the client did not send', () => {
    const sent = [0, 1, 2, 3].map((i) => movement(i));
    expect(account(sent, [log('A', ['proxy-own', 'm0', 'm1']), log('B', ['m2', 'proxy-own', 'm3'])], 1)).toEqual([]);
  });

  it('reports a packet delivered out of order within a backend', () => {
    const sent = [0, 1, 2].map((i) => movement(i));
    const findings = account(sent, [log('A', ['m0', 'm2', 'm1'])], 0);
    expect(kinds(findings)).toEqual(['reordered-packet']);
    expect(findings[0]!.details).toEqual({ packet: 'ClientMovement', index: 1, backend: 'A' });
  });

  it('matches identical frames sent twice (a ClientReady per world) once each', () => {
    const ready = (index: number, world: number): SentPacket => ({ index, name: 'ClientReady', id: 105, digest: 'ready', connection: 1, world });
    expect(account([ready(0, 1), movement(1), ready(2, 2)], [log('A', ['ready', 'm1']), log('B', ['ready'])], 1)).toEqual([]);
    expect(kinds(account([ready(0, 1), movement(1), ready(2, 2)], [log('A', ['ready', 'm1', 'ready']), log('B', ['ready'])], 1))).toEqual([
      'duplicated-packet',
    ]);
  });

  it('matches identical frames by the unique packets around them: a second visit to a backend does not take the copy another backend got in between (A → B → A)', () => {
    const ready = (index: number, world: number): SentPacket => ({ index, name: 'ClientReady', id: 105, digest: 'ready', connection: 1, world });
    // world 1 on A, world 2 on B, world 3 on A again; A's log is read first and holds both its visits
    const sent = [ready(0, 1), movement(1, 1), ready(2, 2), movement(3, 2), ready(4, 3), movement(5, 3)];
    expect(account(sent, [log('A', ['ready', 'm1', 'ready', 'm5']), log('B', ['ready', 'm3'])], 2)).toEqual([]);
    // and when nothing unique is around them, in order within each log: world 1's late copy reached B
    const rfg = (index: number, world: number): SentPacket => ({ index, name: 'ClientReady', id: 105, digest: 'rfg', connection: 1, world });
    const late = [ready(0, 1), rfg(1, 1), ready(2, 2), rfg(3, 2)];
    expect(account(late, [log('A', ['ready']), log('B', ['rfg', 'ready', 'rfg'])], 1)).toEqual([]);
  });

  it('allows delivery to move between backends once per world change, not back and forth', () => {
    const sent = [0, 1, 2, 3].map((i) => movement(i));
    expect(account(sent, [log('A', ['m0', 'm3']), log('B', ['m1', 'm2'])], 2)).toEqual([]); // A → B → A
    expect(kinds(account(sent, [log('A', ['m0', 'm2']), log('B', ['m1', 'm3'])], 1))).toEqual(['reordered-packet', 'reordered-packet']);
  });

  it("lets a Pong for a left world's Ping go missing (the documented drop rule), never one of the current world", () => {
    const left = pong(0, 4, 1, WORLD_A, true);
    const current = pong(1, 1, 2, WORLD_B, false);
    expect(droppedByRule(left)).toBe(true);
    const findings = account([left, current], [log('A', [], WORLD_A), log('B', [], WORLD_B)], 1);
    expect(findings.map((f) => [f.kind, f.details])).toEqual([['unanswered-ping', { pingId: 1, pongType: 'Raw', pingWorld: 2 }]]);
  });

  it('reports a Pong delivered to another backend than the Ping came from', () => {
    const findings = account([pong(0, 4, 1, WORLD_A, true)], [log('B', ['p0'], WORLD_B)], 1);
    expect(findings.map((f) => [f.kind, f.details])).toEqual([['misrouted-pong', { pingId: 4, pongType: 'Raw', backend: 'B' }]]);
  });

  it('takes a custom drop rule, and reports the Pongs a backend refused', () => {
    const sent = [movement(0), movement(1)];
    expect(account(sent, [log('A', ['m0'])], 0, { mayDrop: (p) => p.index === 1 })).toEqual([]);
    expect(kinds(account(sent, [{ ...log('A', ['m0', 'm1']), rejectedPongs: 2 }], 0))).toEqual(['rejected-pong']);
  });
});
