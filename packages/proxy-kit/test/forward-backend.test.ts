/**
 * Backend → client forwarding on its own: backpressure (a slow client slows the backend's reads and
 * nothing queues), the pause of every backend read while a packet hook runs, the interception of a
 * backend's Disconnect and ClientReferral, the gate at every frame boundary, how each channel ends.
 */
import { describe, expect, it } from 'vitest';
import { StreamGate } from '@handoff/migration';
import type { WireFrame } from '@handoff/protocol';
import { forwardBackend, type ForwardEnd } from '../src/forward/backend-forwarder.js';
import { PacketHooks, dropPacket, rewritePacket, type PacketHookContext } from '../src/forward/hooks.js';
import { HookPause, allPermits } from '../src/forward/read-pause.js';
import { G2, G3, heldChannels, lazyChannel, ping, settle, stubLink, unload } from './forward-support.js';

const ctx = {} as PacketHookContext;

function start(init: {
  link: ReturnType<typeof stubLink>;
  channels: ReturnType<typeof heldChannels>;
  hooks?: PacketHooks;
  gates?: Map<string, StreamGate>;
  intercept?: (frame: WireFrame) => boolean | Promise<boolean>;
  pause?: HookPause;
  signal?: AbortSignal;
}) {
  const seen: string[] = [];
  const ends: ForwardEnd[] = [];
  const pause = init.pause ?? new HookPause();
  const forwarding = forwardBackend({
    link: init.link,
    channels: init.channels,
    gate: (name) => {
      const gate = new StreamGate(name);
      init.gates?.set(name, gate);
      return gate;
    },
    reads: allPermits(pause),
    hookPause: pause,
    hooks: init.hooks,
    hookContext: () => ctx,
    onHookError: () => {},
    intercept: init.intercept ?? (() => false),
    onFrame: (frame, channel, action, rule) => seen.push(`${channel}:${frame.descriptor.name}:${action}${rule ? `:${rule}` : ''}`),
    onEnd: (end) => ends.push(end),
    signal: init.signal ?? new AbortController().signal,
  });
  return { seen, ends, done: forwarding.done };
}

describe('backpressure', () => {
  it('a client that does not take frames stops the backend reads: one frame in flight, nothing queued', async () => {
    const def = lazyChannel(G2, (n) => (n < 100 ? ping(G2, n) : null));
    const channels = heldChannels(['Default']);
    const run = start({ link: stubLink('a', G2, { Default: def.source }), channels });
    await settle();
    expect(channels.waiting).toBe(1); // the first frame waits for the client
    expect(def.pulls).toBe(1); // and nothing more was read from the backend
    channels.release();
    await settle();
    expect(channels.written).toHaveLength(1);
    expect(def.pulls).toBe(2); // one more frame, and again it waits
    channels.flowing = true;
    channels.release();
    await run.done;
    expect(channels.written).toHaveLength(100); // a client that reads gets everything
  });
});

describe('packet hooks on backend frames', () => {
  it("pause every backend read while one runs, on every channel, and apply the hook's decision", async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const hooks = new PacketHooks(
      [
        { direction: 'ToClient', packets: ['Ping'], handle: async () => (await held, dropPacket('probe')) },
        { direction: 'ToClient', packets: ['UnloadChunk'], handle: (f) => (f.payload[0] === 7 ? rewritePacket(unload(G3, 70)) : undefined) },
      ],
      G3,
    );
    const def = lazyChannel(G3, (n) => (n === 0 ? ping(G3, 1) : null), 'Default');
    const chunks = lazyChannel(G3, (n) => (n < 10 ? unload(G3, n + 5) : null), 'Chunks');
    const channels = heldChannels(['Default', 'Chunks']);
    channels.flowing = true;
    const run = start({ link: stubLink('a', G3, { Default: def.source, Chunks: chunks.source }), channels, hooks });
    await settle();
    expect(run.seen).not.toContain('Default:Ping:dropped:hook:probe'); // the hook holds the Ping
    const readWhileHeld = chunks.pulls;
    expect(readWhileHeld).toBeLessThan(11);
    await settle();
    expect(chunks.pulls).toBe(readWhileHeld); // the Chunks channel reads nothing while the Ping's hook runs
    release();
    await run.done;
    expect(run.seen).toContain('Default:Ping:dropped:hook:probe');
    expect(run.seen).toContain('Chunks:UnloadChunk:rewritten'); // x=7 became x=70
    const xs = channels.written.map((w) => G3.packet('UnloadChunk').decode(w.bytes.subarray(8)).chunkX);
    expect(xs).toEqual([5, 6, 70, 8, 9, 10, 11, 12, 13, 14]);
    expect(run.ends.map((e) => e.kind)).toEqual(['ended', 'ended']);
  });
});

describe('interception and the gate', () => {
  it("offers a backend's Disconnect and ClientReferral to the session first; kept ones never reach the client", async () => {
    const frames = [ping(G2, 1), G2.packet('Disconnect').encodeFrame({ reason: 'bye', type: 'Disconnect' }), G2.packet('ClientReferral').encodeFrame({ hostTo: null, data: null })];
    const def = lazyChannel(G2, (n) => frames[n] ?? null);
    const channels = heldChannels(['Default']);
    channels.flowing = true;
    const offered: string[] = [];
    const run = start({
      link: stubLink('a', G2, { Default: def.source }),
      channels,
      intercept: (f) => (offered.push(f.descriptor.name), f.descriptor.name === 'Disconnect'),
    });
    await run.done;
    expect(offered).toEqual(['Disconnect', 'ClientReferral']);
    expect(run.seen).toEqual(['Default:Ping:forwarded', 'Default:Disconnect:suppressed', 'Default:ClientReferral:forwarded']);
  });

  it('stops at a frame boundary when its gate stops, and drops what comes after a cut', async () => {
    const gates = new Map<string, StreamGate>();
    const def = lazyChannel(G2, (n) => (n < 10 ? ping(G2, n) : null));
    const channels = heldChannels(['Default']);
    const run = start({ link: stubLink('a', G2, { Default: def.source }), channels, gates });
    await settle();
    const gate = gates.get('a/Default')!;
    expect(channels.waiting).toBe(1); // frame 0 is being written
    const stopped = gate.requestStop(); // mid-frame: it stops once that frame is written
    expect(gate.state).toBe('stopping');
    channels.release();
    await stopped;
    expect(gate.state).toBe('stopped');
    await settle();
    expect(channels.written).toHaveLength(1);
    expect(channels.waiting).toBe(0); // frame 1 waits at the gate, not in a write
    gate.close(); // the cut: frame 1 (and the rest of A) never reaches the client
    expect(await run.done).toEqual([{ kind: 'cut', channel: 'Default' }]);
    expect(run.seen).toEqual(['Default:Ping:forwarded', 'Default:Ping:dropped:after-cut']);
  });

  it('tells a failed backend read from a failed client write', async () => {
    const bad = lazyChannel(G2, () => new Uint8Array([255, 255, 255, 127, 0, 0, 0, 0])); // a frame header over the maximum
    const failing = heldChannels(['Default']);
    const run1 = start({ link: stubLink('a', G2, { Default: bad.source }), channels: failing });
    expect((await run1.done)[0]).toMatchObject({ kind: 'backend-failed' });

    const good = lazyChannel(G2, (n) => (n < 10 ? ping(G2, n) : null));
    const gone = heldChannels(['Default']);
    gone.write = async () => {
      throw new Error('client gone');
    };
    const run2 = start({ link: stubLink('b', G2, { Default: good.source }), channels: gone });
    expect((await run2.done)[0]).toMatchObject({ kind: 'client-failed' });
  });

  it('stops when the session does (its signal)', async () => {
    const controller = new AbortController();
    const def = lazyChannel(G2, (n) => (n < 10 ? ping(G2, n) : null));
    const channels = heldChannels(['Default']);
    const run = start({ link: stubLink('a', G2, { Default: def.source }), channels, signal: controller.signal });
    await settle(3);
    controller.abort();
    channels.release();
    expect((await run.done)[0]).toMatchObject({ kind: 'stopped' });
  });
});
