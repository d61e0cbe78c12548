import { parseBackendRef } from '@handoff/types';
import { describe, expect, it } from 'vitest';
import { createDrainPolicy, DEFAULT_SOURCE_BOUND, type FrameLike, type SourcePongTest } from '../src/index.js';

const f = (name: string, id = 0): FrameLike => ({ id, bytes: new Uint8Array(8), descriptor: { name } });
const ends = { source: parseBackendRef({ id: 'A' }), target: parseBackendRef({ id: 'B' }) };
const before = { afterClientReady: false, ...ends };
const after = { afterClientReady: true, ...ends };

describe('default drain policy', () => {
  const policy = createDrainPolicy();

  it("drops Pongs sent before the client's ClientReady (they answer A) and keeps later ones (they answer B)", () => {
    expect(policy.decide(f('Pong'), before)).toEqual({ action: 'drop', rule: 'pong-for-source' });
    expect(policy.decide(f('Pong'), after)).toEqual({ action: 'keep' });
  });

  it('asks the ping ledger when it has one, whatever the position, with the migration source and target', () => {
    // A stand-in ledger (a SourcePongTest): Ping ids 1 and 2 were sent by A, 3 by B.
    const sentBy = new Map([[1, 'A'], [2, 'A'], [3, 'B']]);
    const asked: unknown[] = [];
    const isSourcePong: SourcePongTest = (frame, { source, target }) => {
      asked.push([frame.id, source.id, target.id]);
      return sentBy.get(frame.id) === source.id;
    };
    const ledger = createDrainPolicy({ isSourcePong });
    expect(ledger.decide(f('Pong', 1), after)).toEqual({ action: 'drop', rule: 'pong-for-source' });
    expect(ledger.decide(f('Pong', 3), before)).toEqual({ action: 'keep' });
    expect(ledger.decide(f('ChatMessage', 1), before)).toEqual({ action: 'keep' });
    expect(asked).toEqual([
      [1, 'A', 'B'],
      [3, 'A', 'B'],
    ]); // asked only about Pongs
  });

  it.each(DEFAULT_SOURCE_BOUND)('drops %s sent in A’s world, keeps it once the client is in B’s', (name) => {
    expect(policy.decide(f(name), before)).toEqual({ action: 'drop', rule: 'source-bound' });
    expect(policy.decide(f(name), after)).toEqual({ action: 'keep' });
  });

  it.each(['ChatMessage', 'ClientReady', 'SetActiveSlot', 'ViewRadius', 'ClientDisconnect'])('keeps %s', (name) => {
    expect(policy.decide(f(name), before)).toEqual({ action: 'keep' });
  });
});

describe('isTargetClientReady', () => {
  it("drops a ClientReady of A's world before the client's ClientReady for B, keeps B's and every later one", () => {
    const asked: unknown[] = [];
    const policy = createDrainPolicy({
      isTargetClientReady: (frame, { source, target }) => {
        asked.push([frame.id, source.id, target.id]);
        return frame.id === 2;
      },
    });
    expect(policy.decide(f('ClientReady', 1), before)).toEqual({ action: 'drop', rule: 'client-ready-for-source' });
    expect(policy.decide(f('ClientReady', 2), before)).toEqual({ action: 'keep' });
    expect(policy.decide(f('ClientReady', 3), after)).toEqual({ action: 'keep' });
    expect(policy.decide(f('ChatMessage', 1), before)).toEqual({ action: 'keep' });
    expect(asked).toEqual([
      [1, 'A', 'B'],
      [2, 'A', 'B'],
    ]); // asked only about ClientReadys before B's
  });

  it('overrides win over it', () => {
    const policy = createDrainPolicy({ isTargetClientReady: () => false, byName: { ClientReady: 'keep' } });
    expect(policy.decide(f('ClientReady'), before)).toEqual({ action: 'keep' });
  });
});

describe('overrides', () => {
  it('by id win over by name, which win over the defaults', () => {
    const policy = createDrainPolicy({ byId: { 7: 'keep' }, byName: { Pong: 'keep', ChatMessage: 'drop' } });
    expect(policy.decide(f('ChatMessage', 7), before)).toEqual({ action: 'keep' });
    expect(policy.decide(f('ChatMessage', 8), before)).toEqual({ action: 'drop', rule: 'override:ChatMessage' });
    expect(policy.decide(f('Pong'), before)).toEqual({ action: 'keep' });
  });

  it('a function override may decide, name its rule, or fall through', () => {
    const policy = createDrainPolicy({
      byName: {
        ClientMovement: (_, ctx) => (ctx.afterClientReady ? undefined : { action: 'drop', rule: 'stale-position' }),
        SetActiveSlot: () => 'drop',
      },
      byId: { 99: () => undefined },
    });
    expect(policy.decide(f('ClientMovement'), before)).toEqual({ action: 'drop', rule: 'stale-position' });
    expect(policy.decide(f('ClientMovement'), after)).toEqual({ action: 'keep' });
    expect(policy.decide(f('SetActiveSlot'), after)).toEqual({ action: 'drop', rule: 'override:SetActiveSlot' });
    expect(policy.decide(f('Pong', 99), before)).toEqual({ action: 'drop', rule: 'pong-for-source' });
  });

  it('sourceBound replaces the default list', () => {
    const policy = createDrainPolicy({ sourceBound: ['ChatMessage'] });
    expect(policy.decide(f('ChatMessage'), before)).toEqual({ action: 'drop', rule: 'source-bound' });
    expect(policy.decide(f('MouseInteraction'), before)).toEqual({ action: 'keep' });
  });
});
