import { describe, expect, it } from 'vitest';
import { CutoverBarrier, forwardThroughGate, StreamGate } from '../src/index.js';

const tick = () => new Promise<void>((r) => setImmediate(r));

/** A controllable async source of frames. */
function source<T>() {
  const queue: T[] = [];
  let wake: (() => void) | null = null;
  let ended = false;
  return {
    push(v: T) {
      queue.push(v);
      wake?.();
    },
    end() {
      ended = true;
      wake?.();
    },
    async *[Symbol.asyncIterator]() {
      for (;;) {
        if (queue.length > 0) yield queue.shift()!;
        else if (ended) return;
        else await new Promise<void>((r) => (wake = r));
      }
    },
  };
}

describe('StreamGate', () => {
  it('stops at once when no frame is being written', async () => {
    const gate = new StreamGate('Default');
    await gate.requestStop();
    expect(gate.state).toBe('stopped');
  });

  it('stops only after the frame being written is complete', async () => {
    const gate = new StreamGate('Chunks');
    expect(gate.enter()).toBe(true);
    let stopped = false;
    void gate.requestStop().then(() => (stopped = true));
    await tick();
    expect(stopped).toBe(false);
    expect(gate.state).toBe('stopping');
    gate.exit();
    await tick();
    expect(stopped).toBe(true);
  });

  it('holds the next frame while stopped: written on resume, dropped on close', async () => {
    const resumed = new StreamGate('a');
    await resumed.requestStop();
    const pass = resumed.enter();
    expect(pass).toBeInstanceOf(Promise);
    resumed.resume();
    expect(await pass).toBe(true);
    resumed.exit();

    const closed = new StreamGate('b');
    await closed.requestStop();
    const held = closed.enter();
    closed.close();
    expect(await held).toBe(false);
    expect(closed.enter()).toBe(false);
    expect(closed.droppedAfterCut).toBe(2);
  });

  it('rejects a second enter() and an exit() without enter()', () => {
    const gate = new StreamGate('g');
    expect(() => gate.exit()).toThrow(expect.objectContaining({ code: 'ERR_MIGRATION_GATE_MISUSE' }));
    gate.enter();
    expect(() => gate.enter()).toThrow(expect.objectContaining({ code: 'ERR_MIGRATION_GATE_MISUSE' }));
  });
});

describe('CutoverBarrier', () => {
  it('B writes nothing until every A stream stopped at a frame boundary and the barrier is cut', async () => {
    const barrier = new CutoverBarrier();
    const client: string[] = [];
    const streams = ['Default', 'Chunks', 'WorldMap'].map((name) => ({ name, gate: barrier.gate(name), frames: source<string>() }));
    // A→client forwarders; each frame is written in two halves across an await, so a cut
    // in the middle of a frame would show up as an interleaving.
    const forwarders = streams.map(({ gate, frames }) =>
      forwardThroughGate(frames, gate, async (frame) => {
        client.push(`${frame}:start`);
        await tick();
        client.push(`${frame}:end`);
      }),
    );
    // B writer, started early: must wait for the cut.
    const bWriter = barrier.whenCut().then(() => client.push('B:JoinWorld'));
    for (const s of streams) s.frames.push(`A.${s.name}.1`);
    // Stop while every stream is in the middle of writing its first frame.
    while (client.filter((c) => c.endsWith(':start')).length < 3) await Promise.resolve();
    expect(client.some((c) => c.endsWith(':end'))).toBe(false);
    const stopping = barrier.stop();
    expect(() => barrier.cut()).toThrow(expect.objectContaining({ code: 'ERR_MIGRATION_BARRIER_NOT_STOPPED' }));
    for (const s of streams) s.frames.push(`A.${s.name}.2`); // arrives after the stop: never written
    await stopping;
    expect(barrier.state).toBe('stopped');
    barrier.cut();
    await bWriter;
    expect(await Promise.all(forwarders)).toEqual(['cut', 'cut', 'cut']);
    const bAt = client.indexOf('B:JoinWorld');
    expect(client.slice(bAt)).toEqual(['B:JoinWorld']);
    for (const s of streams) {
      expect(client.filter((c) => c.startsWith(`A.${s.name}.1`))).toEqual([`A.${s.name}.1:start`, `A.${s.name}.1:end`]);
      expect(client.some((c) => c.startsWith(`A.${s.name}.2`))).toBe(false);
    }
    expect(barrier.droppedAfterCut).toBe(3);
  });

  it('rollback before the cut resumes every A stream and writes the held frames, in order', async () => {
    const barrier = new CutoverBarrier();
    const gate = barrier.gate('Default');
    const frames = source<number>();
    const written: number[] = [];
    const forwarding = forwardThroughGate(frames, gate, (n) => void written.push(n));
    frames.push(1);
    await tick();
    await barrier.stop();
    frames.push(2);
    frames.push(3);
    await tick();
    expect(written).toEqual([1]);
    barrier.resume();
    await tick();
    frames.end();
    expect(await forwarding).toBe('ended');
    expect(written).toEqual([1, 2, 3]);
    expect(barrier.state).toBe('open');
  });

  it('cannot resume after the cut', async () => {
    const barrier = new CutoverBarrier();
    barrier.gate('x');
    await barrier.stop();
    barrier.cut();
    expect(() => barrier.resume()).toThrow(expect.objectContaining({ code: 'ERR_MIGRATION_BARRIER_CUT' }));
  });

  it('close (fail-over) rejects waiting B writers and drops A', async () => {
    const barrier = new CutoverBarrier();
    const gate = barrier.gate('Default');
    const waiting = barrier.whenCut();
    barrier.close();
    await expect(waiting).rejects.toMatchObject({ code: 'ERR_MIGRATION_BARRIER_CLOSED' });
    expect(gate.enter()).toBe(false);
    await expect(barrier.whenCut()).rejects.toMatchObject({ code: 'ERR_MIGRATION_BARRIER_CLOSED' });
  });

  it('a gate added while stopping must stop too; one added after the cut is closed', async () => {
    const barrier = new CutoverBarrier();
    const first = barrier.gate('Default');
    first.enter();
    const stopping = barrier.stop();
    const late = new StreamGate('WorldMap');
    late.enter(); // mid-frame when it joins
    barrier.add(late);
    first.exit();
    await tick();
    expect(barrier.state).toBe('stopping');
    late.exit();
    await stopping;
    barrier.cut();
    expect(barrier.gate('after').state).toBe('closed');
  });

  it('a stuck write keeps the barrier up until the signal aborts the wait', async () => {
    const barrier = new CutoverBarrier();
    barrier.gate('Chunks').enter(); // a write that never completes (stalled client stream)
    const controller = new AbortController();
    const stopping = barrier.stop({ signal: controller.signal });
    controller.abort();
    await expect(stopping).rejects.toMatchObject({ code: 'ERR_MIGRATION_BARRIER_ABORTED' });
    expect(() => barrier.cut()).toThrow(expect.objectContaining({ code: 'ERR_MIGRATION_BARRIER_NOT_STOPPED' }));
  });

  it('an ended stream does not hold the barrier up', async () => {
    const barrier = new CutoverBarrier();
    const frames = source<number>();
    const forwarding = forwardThroughGate(frames, barrier.gate('WorldMap'), () => {});
    frames.end();
    await forwarding;
    await barrier.stop();
    barrier.cut();
    expect(barrier.state).toBe('cut');
  });

  it('whenCut honours its signal', async () => {
    const barrier = new CutoverBarrier();
    const controller = new AbortController();
    const waiting = barrier.whenCut({ signal: controller.signal });
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'ERR_MIGRATION_BARRIER_ABORTED' });
  });
});
