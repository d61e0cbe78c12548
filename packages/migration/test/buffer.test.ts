import { FrameSplitter, getGeneration, WireFrame, writeFrameHeader, type Frame } from '@handoff/protocol';
import { parseBackendRef } from '@handoff/types';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BufferBudget,
  createDrainPolicy,
  MigrationBuffer,
  MigrationError,
  type FrameLike,
  type Offer,
  type SettledEntry,
} from '../src/index.js';

/** The migration's two ends, which the drain to the target passes to its policy. */
const ENDS = { source: parseBackendRef({ id: 'A' }), target: parseBackendRef({ id: 'B' }) };
let nextId = 0;
interface TestFrame extends FrameLike {
  readonly n: number;
}
function frame(name = 'ChatMessage', size = 16): TestFrame {
  return { id: 211, n: nextId++, bytes: new Uint8Array(size), descriptor: { name } };
}

describe('MigrationBuffer', () => {
  it('forwards to the source before Freeze and buffers after', () => {
    const buffer = new MigrationBuffer({ budget: new BufferBudget() });
    expect(buffer.offer(frame())).toEqual({ status: 'forward', to: 'source' });
    buffer.open();
    expect(buffer.offer(frame())).toEqual({ status: 'buffered' });
    expect(buffer.ledger()).toMatchObject({ accepted: 1, pending: 1 });
  });

  it('copies frame bytes by default (frames are views into a reusable arrival buffer)', async () => {
    const arrival = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 42]);
    const buffer = new MigrationBuffer({ budget: new BufferBudget() });
    buffer.open();
    buffer.offer({ id: 1, bytes: arrival, payload: arrival.subarray(8), descriptor: { name: 'X' } } as FrameLike);
    arrival.fill(0);
    const out: FrameLike[] = [];
    await buffer.drainToSource((f) => void out.push(f));
    expect([...out[0]!.bytes]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 42]);
    expect([...(out[0] as unknown as { payload: Uint8Array }).payload]).toEqual([42]);
  });

  it("buffers the protocol's own frames: the copy is still a WireFrame, independent of the arrival chunk", async () => {
    const registry = getGeneration('G3').registry;
    const chunk = new Uint8Array(8 + 5);
    writeFrameHeader(chunk, 0, registry.byName('ChatMessage')!.id, 5);
    chunk.set([1, 2, 3, 4, 5], 8);
    const [frame] = new FrameSplitter(registry, { direction: 'ToServer' }).push(chunk);
    const buffer = new MigrationBuffer<Frame>({ budget: new BufferBudget() });
    buffer.open();
    buffer.offer(frame!);
    chunk.fill(0);
    const out: Frame[] = [];
    await buffer.drainToTarget(createDrainPolicy<Frame>(), (f) => void out.push(f), ENDS);
    expect(out[0]).toBeInstanceOf(WireFrame);
    expect([...out[0]!.payload]).toEqual([1, 2, 3, 4, 5]);
    expect((out[0] as WireFrame).name).toBe('ChatMessage');
  });

  it.each([
    [{ maxPackets: 2, maxBytes: 1000 }, new BufferBudget(), { scope: 'migration', dimension: 'packets' }],
    [{ maxPackets: 100, maxBytes: 40 }, new BufferBudget(), { scope: 'migration', dimension: 'bytes' }],
    [{ maxPackets: 100, maxBytes: 1000 }, new BufferBudget({ maxPackets: 2 }), { scope: 'global', dimension: 'packets' }],
    [{ maxPackets: 100, maxBytes: 1000 }, new BufferBudget({ maxBytes: 40 }), { scope: 'global', dimension: 'bytes' }],
  ])('overflows at the first bound hit (%o), once, and holds the packet with the caller', (limits, budget, expected) => {
    const overflows: unknown[] = [];
    const buffer = new MigrationBuffer({ limits, budget, onOverflow: (info) => overflows.push(info) });
    buffer.open();
    expect(buffer.offer(frame('A', 16)).status).toBe('buffered');
    expect(buffer.offer(frame('A', 16)).status).toBe('buffered');
    const third = buffer.offer(frame('A', 16));
    expect(third.status).toBe('hold');
    expect(buffer.offer(frame('A', 16)).status).toBe('hold');
    expect(overflows).toEqual([expected]);
    expect(buffer.state).toBe('overflowed');
    expect(buffer.ledger()).toMatchObject({ accepted: 2, held: 2, overflow: expected });
  });

  it('shares the global budget across buffers and gives it back when packets leave', async () => {
    const budget = new BufferBudget({ maxPackets: 3 });
    const one = new MigrationBuffer({ budget });
    const two = new MigrationBuffer({ budget });
    one.open();
    two.open();
    one.offer(frame());
    one.offer(frame());
    two.offer(frame());
    expect(two.offer(frame()).status).toBe('hold');
    expect(budget.usage().packets).toBe(3);
    await one.drainToSource(() => {});
    expect(budget.usage().packets).toBe(1);
    two.discard('session-ended');
    expect(budget.usage()).toMatchObject({ packets: 0, bytes: 0 });
  });

  it('releases a held caller when it settles: the packet then goes straight to that side', async () => {
    const buffer = new MigrationBuffer({ limits: { maxPackets: 1 }, budget: new BufferBudget() });
    buffer.open();
    buffer.offer(frame());
    const held = buffer.offer(frame());
    if (held.status !== 'hold') throw new Error('expected hold');
    let woke = false;
    void held.until.then(() => (woke = true));
    await buffer.drainToSource(() => {});
    await Promise.resolve();
    expect(woke).toBe(true);
    expect(buffer.offer(frame())).toEqual({ status: 'forward', to: 'source' });
  });

  it('rollback delivers every buffered packet to the source, in order, policy or not', async () => {
    const buffer = new MigrationBuffer<TestFrame>({ budget: new BufferBudget() });
    buffer.open();
    const sent = ['Pong', 'ClientMovement', 'ChatMessage'].map((n) => frame(n));
    for (const f of sent) buffer.offer(f);
    const out: number[] = [];
    await buffer.drainToSource((f) => void out.push(f.n));
    expect(out).toEqual(sent.map((f) => f.n));
    expect(buffer.ledger()).toMatchObject({ accepted: 3, toSource: 3, pending: 0, dropped: {} });
  });

  it("with isTargetClientReady, a ClientReady of A's world is dropped and the drain stays in A's world until B's", async () => {
    const buffer = new MigrationBuffer<TestFrame>({ budget: new BufferBudget() });
    buffer.open();
    const sent = ['ClientReady', 'ClientMovement', 'Pong', 'ClientReady', 'ClientMovement', 'Pong', 'ClientReady'].map((n) => frame(n));
    for (const f of sent) buffer.offer(f);
    const targetReady = sent[3]!.n; // the client's answer to B's JoinWorld
    const asked: number[] = [];
    const policy = createDrainPolicy<TestFrame>({
      isTargetClientReady: (f, ends) => {
        asked.push(f.n);
        expect(ends).toMatchObject(ENDS);
        return f.n === targetReady;
      },
    });
    const out: number[] = [];
    await buffer.drainToTarget(policy, (f) => void out.push(f.n), ENDS);
    expect(out).toEqual([sent[3]!.n, sent[4]!.n, sent[5]!.n, sent[6]!.n]);
    expect(asked).toEqual([sent[0]!.n, sent[3]!.n]); // asked in order, only until B's ClientReady
    expect(buffer.ledger()).toMatchObject({ toTarget: 4, dropped: { 'client-ready-for-source': 1, 'source-bound': 1, 'pong-for-source': 1 } });
  });

  it('the drain to the target applies the policy and reports every drop by rule', async () => {
    const settled: SettledEntry[] = [];
    const buffer = new MigrationBuffer({ budget: new BufferBudget(), onSettled: (e) => settled.push(e) });
    buffer.open();
    for (const n of ['Pong', 'ClientMovement', 'ChatMessage', 'ClientReady', 'ClientMovement', 'Pong']) buffer.offer(frame(n));
    const out: string[] = [];
    await buffer.drainToTarget(createDrainPolicy(), (f) => void out.push(f.descriptor.name), ENDS);
    expect(out).toEqual(['ChatMessage', 'ClientReady', 'ClientMovement', 'Pong']);
    expect(buffer.ledger()).toMatchObject({ toTarget: 4, dropped: { 'pong-for-source': 1, 'source-bound': 1 } });
    expect(settled.map((e) => [e.seq, e.fate, e.rule])).toEqual([
      [0, 'dropped', 'pong-for-source'],
      [1, 'dropped', 'source-bound'],
      [2, 'target', undefined],
      [3, 'target', undefined],
      [4, 'target', undefined],
      [5, 'target', undefined],
    ]);
  });

  it('a failed write drops that packet as delivery-failed and leaves the rest pending for discard', async () => {
    const buffer = new MigrationBuffer({ budget: new BufferBudget() });
    buffer.open();
    for (let i = 0; i < 3; i++) buffer.offer(frame());
    let calls = 0;
    await expect(
      buffer.drainToTarget(
        createDrainPolicy(),
        () => {
          if (++calls === 2) throw new Error('stream reset');
        },
        ENDS,
      ),
    ).rejects.toThrow('stream reset');
    expect(buffer.ledger()).toMatchObject({ toTarget: 1, pending: 1, dropped: { 'delivery-failed': 1 } });
    buffer.discard('session-ended');
    expect(buffer.ledger()).toMatchObject({ pending: 0, dropped: { 'delivery-failed': 1, 'session-ended': 1 } });
    expect(buffer.offer(frame())).toEqual({ status: 'drop', rule: 'session-ended' });
    expect(buffer.ledger().droppedOnOffer).toEqual({ 'session-ended': 1 });
  });

  it('queues packets offered while draining behind the ones being drained', async () => {
    const buffer = new MigrationBuffer<TestFrame>({ budget: new BufferBudget() });
    buffer.open();
    const first = frame();
    buffer.offer(first);
    const out: number[] = [];
    const late = frame();
    const drained = buffer.drainToSource(async (f) => {
      out.push(f.n);
      if (f.n === first.n) expect(buffer.offer(late)).toEqual({ status: 'buffered' });
      await Promise.resolve();
    });
    await drained;
    expect(out).toEqual([first.n, late.n]);
  });

  it('stops draining when the signal aborts, leaving the rest pending', async () => {
    const buffer = new MigrationBuffer({ budget: new BufferBudget() });
    buffer.open();
    for (let i = 0; i < 3; i++) buffer.offer(frame());
    const controller = new AbortController();
    await expect(buffer.drainToSource(() => controller.abort(), { signal: controller.signal })).rejects.toThrow();
    expect(buffer.ledger()).toMatchObject({ toSource: 1, pending: 2 });
  });

  it('refuses operations its state does not allow', async () => {
    const buffer = new MigrationBuffer({ budget: new BufferBudget() });
    await expect(buffer.drainToSource(() => {})).rejects.toMatchObject({ code: 'ERR_MIGRATION_BUFFER_STATE' });
    buffer.open();
    expect(() => buffer.open()).toThrow(MigrationError);
    await buffer.drainToSource(() => {});
    await expect(buffer.drainToTarget(createDrainPolicy(), () => {}, ENDS)).rejects.toMatchObject({ code: 'ERR_MIGRATION_BUFFER_STATE' });
  });

  it('rejects limits that are not positive integers', () => {
    expect(() => new MigrationBuffer({ limits: { maxPackets: 0 } })).toThrow(expect.objectContaining({ code: 'ERR_MIGRATION_CONFIG' }));
    expect(() => new BufferBudget({ maxBytes: Number.NaN })).toThrow(expect.objectContaining({ code: 'ERR_MIGRATION_CONFIG' }));
  });
});

// ---------------------------------------------------------------------------------------------
// Property: across random sequences of freeze (open), offers, overflow, rollback (drain to
// source), drain to target and discard — with offers interleaving asynchronous drains, writes
// that fail, and a caller that honours `hold` — every packet ends in exactly one place, and
// each side receives its packets in the order the client sent them.

type Op =
  | { op: 'offer'; name: string; size: number }
  | { op: 'open' }
  | { op: 'drainToSource' }
  | { op: 'drainToTarget' }
  | { op: 'discard' }
  | { op: 'tick' };

const NAMES = ['Pong', 'ClientMovement', 'ChatMessage', 'ClientReady', 'MouseInteraction', 'SetActiveSlot'];
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 12, arbitrary: fc.record({ op: fc.constant('offer' as const), name: fc.constantFrom(...NAMES), size: fc.integer({ min: 8, max: 64 }) }) },
  { weight: 2, arbitrary: fc.constant({ op: 'open' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'drainToSource' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'drainToTarget' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'discard' as const }) },
  { weight: 3, arbitrary: fc.constant({ op: 'tick' as const }) },
);

interface Fate {
  where: 'source' | 'target' | 'dropped';
  how: string;
}

async function runScenario(ops: Op[], limits: { maxPackets: number; maxBytes: number }, globalPackets: number, failEvery: number) {
  const budget = new BufferBudget({ maxPackets: globalPackets });
  const fates = new Map<number, Fate[]>();
  const record = (n: number, fate: Fate) => fates.set(n, [...(fates.get(n) ?? []), fate]);
  const sourceLog: number[] = [];
  const targetLog: number[] = [];
  const buffer = new MigrationBuffer<TestFrame>({
    limits,
    budget,
    onSettled: (e) => {
      if (e.fate === 'dropped') record(e.frame.n, { where: 'dropped', how: e.rule! });
    },
  });
  let writes = 0;
  const write = (log: number[], where: 'source' | 'target') => async (f: TestFrame) => {
    await Promise.resolve();
    if (failEvery > 0 && ++writes % failEvery === 0) throw new Error('write failed');
    log.push(f.n);
    record(f.n, { where, how: 'drain' });
  };
  const drains: Promise<unknown>[] = [];
  let drainedToTarget = false;
  // The client side: packets the proxy has not read yet because it was told to hold.
  const backlog: TestFrame[] = [];
  let blocked = false;
  const sent: number[] = [];

  const route = (f: TestFrame): boolean => {
    const r: Offer = buffer.offer(f);
    switch (r.status) {
      case 'buffered':
        return true;
      case 'forward':
        (r.to === 'source' ? sourceLog : targetLog).push(f.n);
        record(f.n, { where: r.to, how: 'forward' });
        return true;
      case 'drop':
        record(f.n, { where: 'dropped', how: `offer:${r.rule}` });
        return true;
      case 'hold':
        blocked = true;
        void r.until.then(() => (blocked = false));
        return false;
    }
  };
  const pump = () => {
    while (!blocked && backlog.length > 0) {
      if (route(backlog[0]!)) backlog.shift();
    }
  };

  for (const step of ops) {
    switch (step.op) {
      case 'offer': {
        const f = frame(step.name, step.size);
        sent.push(f.n);
        backlog.push(f);
        pump();
        break;
      }
      case 'open':
        if (buffer.state === 'idle') buffer.open();
        else expect(() => buffer.open()).toThrow(MigrationError);
        break;
      case 'drainToSource':
      case 'drainToTarget': {
        const drainable = buffer.state === 'collecting' || buffer.state === 'overflowed';
        const p =
          step.op === 'drainToSource'
            ? buffer.drainToSource(write(sourceLog, 'source'))
            : buffer.drainToTarget(createDrainPolicy(), write(targetLog, 'target'), ENDS);
        if (!drainable) await expect(p).rejects.toMatchObject({ code: 'ERR_MIGRATION_BUFFER_STATE' });
        else {
          drainedToTarget ||= step.op === 'drainToTarget';
          drains.push(p.catch(() => {}));
        }
        break;
      }
      case 'discard':
        buffer.discard('session-ended');
        break;
      case 'tick':
        await Promise.resolve();
        await Promise.resolve();
        pump();
        break;
    }
  }
  // Let every drain finish (or fail), then end the migration the way the migrator would.
  await Promise.all(drains);
  if (buffer.state !== 'settled' && buffer.state !== 'discarded') buffer.discard('session-ended');
  await Promise.resolve();
  pump();
  if (buffer.state === 'idle') expect(backlog).toEqual([]);

  // Exactly one place for every packet the client sent.
  for (const n of sent) expect(fates.get(n), `packet ${n}`).toHaveLength(1);
  expect([...fates.keys()].sort((a, b) => a - b)).toEqual([...sent].sort((a, b) => a - b));
  // No reordering on either side.
  const inOrder = (log: number[]) => log.every((n, i) => i === 0 || log[i - 1]! < n);
  expect(inOrder(sourceLog)).toBe(true);
  expect(inOrder(targetLog)).toBe(true);
  // The ledger agrees, nothing is pending, and the shared budget is whole again.
  const l = buffer.ledger();
  const dropped = Object.values(l.dropped).reduce((a, b) => a + b, 0);
  expect(l.pending).toBe(0);
  expect(l.accepted).toBe(l.toSource + l.toTarget + dropped);
  expect(budget.usage()).toMatchObject({ packets: 0, bytes: 0 });
  // A rollback never drops: only failed writes and the end of the session may.
  if (!drainedToTarget) expect(Object.keys(l.dropped).filter((r) => r !== 'delivery-failed' && r !== 'session-ended')).toEqual([]);
}

describe('MigrationBuffer property', () => {
  it('never loses, duplicates or reorders a packet', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArb, { minLength: 1, maxLength: 60 }),
        fc.record({ maxPackets: fc.integer({ min: 1, max: 12 }), maxBytes: fc.integer({ min: 64, max: 600 }) }),
        fc.integer({ min: 1, max: 20 }),
        fc.constantFrom(0, 0, 3, 7),
        runScenario,
      ),
      { numRuns: 400 },
    );
  });

  it('the property would catch a buffer that reorders', async () => {
    // Sanity check of the checker itself: a drain that swaps two packets must be detected.
    const buffer = new MigrationBuffer<TestFrame>({ budget: new BufferBudget() });
    buffer.open();
    const a = frame();
    const b = frame();
    buffer.offer(a);
    buffer.offer(b);
    const log: number[] = [];
    await buffer.drainToSource((f) => void log.unshift(f.n));
    expect(log.every((n, i) => i === 0 || log[i - 1]! < n)).toBe(false);
  });
});
