/**
 * The seams between packages, checked with the real types and objects on both sides (never a hand
 * copy of an interface): what one package hands over is what the other takes.
 */
import { describe, expect, it } from 'vitest';
import { getGeneration, readFrame } from '@handoff/protocol';
import { createDrainPolicy, type DrainPolicyInit } from '@handoff/migration';
import { createCaptureTap, createSessionStore } from '@handoff/session';
import { parseBackendRef, type SourcePongTest } from '@handoff/types';

const g3 = getGeneration('G3');
const A = parseBackendRef({ id: 'lobby-1', pool: 'lobby' });
const B = parseBackendRef({ id: 'game-7', pool: 'games' });
const frame = (name: 'Ping' | 'Pong', value: object) => readFrame(g3.registry, g3.packet(name).encodeFrame(value as never));

describe('session ⇄ migration', () => {
  it("the ping ledger's isSourcePong is the drain policy's isSourcePong: A's Pongs are dropped at B, B's kept", () => {
    const record = createSessionStore().create({ backend: A });
    const tap = createCaptureTap(record, { generation: g3 });
    tap.serverToClient(frame('Ping', { id: 1, lastPingValueRaw: 0, lastPingValueDirect: 0, lastPingValueTick: 0 }), A);
    tap.serverToClient(frame('Ping', { id: 9, lastPingValueRaw: 0, lastPingValueDirect: 0, lastPingValueTick: 0 }), B);

    // passed as it is: the type is the one the policy declares
    const predicate: NonNullable<DrainPolicyInit['isSourcePong']> = record.pings.isSourcePong;
    const shared: SourcePongTest = predicate;
    const policy = createDrainPolicy({ isSourcePong: shared });
    const ctx = { source: A, target: B, afterClientReady: false };

    expect(policy.decide(frame('Pong', { id: 1, type: 'Raw', packetQueueSize: 0 }), ctx)).toEqual({ action: 'drop', rule: 'pong-for-source' });
    expect(policy.decide(frame('Pong', { id: 9, type: 'Raw', packetQueueSize: 0 }), ctx)).toEqual({ action: 'keep' });
  });
});
