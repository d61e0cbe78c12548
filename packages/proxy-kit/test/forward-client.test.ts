/**
 * The one rule for client frames, step by step, with the real migrator and capture tap and a router
 * stand-in: Pongs go only to the backend whose Ping they answer, hooks decide before routing, a frame
 * for a backend that is gone waits for routing to change, the first PlayerOptions opens the G3
 * streams, and bad bytes end the loop. Every drop is named.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createMigrator, type Migrator } from '@handoff/migration';
import { readFrame, type WireFrame } from '@handoff/protocol';
import { SessionRecord, createCaptureTap } from '@handoff/session';
import { parseBackendId, parseBackendRef, parseSessionId, type BackendRef } from '@handoff/types';
import { forwardClient, type ClientLoopEnd } from '../src/forward/client-forwarder.js';
import { PacketHooks, dropPacket, type PacketHookContext } from '../src/forward/hooks.js';
import { frameSink, frameSource, type FrameSink } from '../src/frames.js';
import { G3, ping, settle } from './forward-support.js';

const A_ID = parseBackendId('a');
const B_ID = parseBackendId('b');

const A = parseBackendRef({ id: 'a' });
const migrators: Migrator<WireFrame>[] = [];
afterEach(() => {
  for (const m of migrators.splice(0)) m.stop();
});

const noStep = async () => {};
function idleMigrator(): Migrator<WireFrame> {
  const m = createMigrator<WireFrame>({
    session: { id: parseSessionId(`client-rule-${migrators.length}-${Date.now()}`) },
    backend: A,
    steps: { prepare: noStep, auth: noStep, sync: noStep, cutover: noStep, cleanup: noStep, closeTarget: noStep, sendDisconnect: noStep, sendToSource: () => {}, sendToTarget: () => {} },
  });
  migrators.push(m);
  return m;
}

const pong = (id: number, type: 'Raw' | 'Direct' | 'Tick' = 'Raw') => G3.packet('Pong').encodeFrame({ id, time: null, type, packetQueueSize: 0 });
const options = () => G3.packet('PlayerOptions').encodeFrame({ skin: null });
const ready = () => G3.packet('ClientReady').encodeFrame({ readyForChunks: true, readyForGameplay: false });

function harness(input: Uint8Array[], init: { hooks?: PacketHooks; sinks?: Map<string, FrameSink | undefined> } = {}) {
  const record = new SessionRecord();
  const tap = createCaptureTap(record, { generation: G3 });
  // A sent Ping 1, B sent Ping 2 (the ledger knows whose each is)
  tap.serverToClient(readFrame(G3.registry, ping(G3, 1)), A_ID);
  tap.serverToClient(readFrame(G3.registry, ping(G3, 2)), B_ID);
  const toA: string[] = [];
  const sinkA = frameSink(new WritableStream<Uint8Array>({ write: (b) => void toA.push(readFrame(G3.registry, b).descriptor.name) }));
  const sinks = init.sinks ?? new Map<string, FrameSink | undefined>([['a', sinkA]]);
  let changed!: () => void;
  let change = new Promise<void>((resolve) => (changed = resolve));
  const readable = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const bytes of input) controller.enqueue(bytes);
      controller.close();
    },
  });
  const fates: string[] = [];
  let optionsOpened = 0;
  const loop = forwardClient({
    frames: frameSource(readable, G3.registry, { direction: 'ToServer' }),
    tap,
    migrator: idleMigrator(),
    router: {
      sinkOf: (b: BackendRef) => sinks.get(b.id),
      changed: () => change,
    },
    hooks: init.hooks,
    hookContext: () => ({}) as PacketHookContext,
    onHookError: () => {},
    onPlayerOptions: async () => void optionsOpened++,
    onFrame: (frame, action, backend, rule) => fates.push(`${frame.descriptor.name}:${action}${backend ? `:${backend.id}` : ''}${rule ? `:${rule}` : ''}`),
    signal: new AbortController().signal,
  });
  return {
    loop,
    fates,
    toA,
    sinkA,
    get optionsOpened() {
      return optionsOpened;
    },
    route(sinkOfA: FrameSink) {
      sinks.set('a', sinkOfA);
      const previous = changed;
      change = new Promise<void>((resolve) => (changed = resolve));
      previous();
    },
  };
}

describe('the rule for client frames', () => {
  it("routes a Pong only to the backend whose Ping it answers: A's to A, B's and unknown ones dropped by name", async () => {
    const h = harness([pong(1), pong(2), pong(9), ready()]);
    expect(await h.loop).toEqual({ kind: 'ended' } satisfies ClientLoopEnd);
    expect(h.fates).toEqual(['Pong:forwarded:a', 'Pong:dropped:a:pong-for-other-backend', 'Pong:dropped:a:pong-unmatched', 'ClientReady:forwarded:a']);
    expect(h.toA).toEqual(['Pong', 'ClientReady']);
  });

  it('lets packet hooks decide before routing (a drop is counted under its reason)', async () => {
    const hooks = new PacketHooks([{ direction: 'ToServer', packets: ['ClientReady'], handle: () => dropPacket('not-yet') }], G3);
    const h = harness([ready(), pong(1)], { hooks });
    await h.loop;
    expect(h.fates).toEqual(['ClientReady:dropped:hook:not-yet', 'Pong:forwarded:a']);
  });

  it('opens the uni streams on the first PlayerOptions, once', async () => {
    const h = harness([options(), options()]);
    await h.loop;
    expect(h.optionsOpened).toBe(1);
  });

  it('holds a frame for a backend that is gone until routing changes, then delivers it: nothing lost, order kept', async () => {
    const sinks = new Map<string, FrameSink | undefined>([['a', undefined]]);
    const h = harness([ready(), pong(1)], { sinks });
    await settle();
    expect(h.fates).toEqual([]); // held, not dropped
    h.route(h.sinkA);
    await h.loop;
    expect(h.fates).toEqual(['ClientReady:forwarded:a', 'Pong:forwarded:a']);
  });

  it('ends with client-error on bytes that are not frames (the session closes the client)', async () => {
    const h = harness([ready(), new Uint8Array([1, 0, 0, 0, 0x7f, 0x7f, 0x7f, 0x7f, 0])]);
    const end = await h.loop;
    expect(end.kind).toBe('client-error');
    expect(h.fates).toEqual(['ClientReady:forwarded:a']);
  });
});
