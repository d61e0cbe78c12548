/**
 * Client → backend: the one rule for every frame the client sends (docs/proxy-kit.md, "The rule
 * for client frames"). In order:
 *
 * 1. **Read.** The frame source checks the frame (size, id, direction); bad input ends the loop
 *    with `client-error` and the session closes the client as a server would.
 * 2. **Tap.** The capture tap records it in the session record, on arrival, in the client's order.
 *    The tap never decides where a frame goes (a Pong's route is only read in step 5).
 * 3. **First PlayerOptions** (G3): the client's uni streams are opened, as a server opens them then.
 * 4. **Packet hooks** (`ToServer`): forward, rewrite or drop (`hook:<reason>`).
 * 5. **The migrator** (`migrator.clientFrame`): `forward` to the backend it names, `buffered`
 *    (Freeze until the drain ends: the migration buffer and its drain policy decide from then on,
 *    Pongs included, so no packet overtakes one the client sent before it), `hold` (stop reading the
 *    client until the buffer has room, then route the same frame again), or `drop` by its rule.
 *    A Pong the migrator would forward goes only to the backend whose Ping it answers (the ping
 *    ledger): a Pong for another backend's Ping is dropped (`pong-for-other-backend`), an unmatched
 *    one too (`pong-unmatched`). A frame for a backend whose link is gone is held until routing
 *    changes (a fail-over opens its buffer, or the session ends). After a cut, until the client's
 *    ClientReady for B (its answer to B's JoinWorld) reached B, a frame the migrator forwards to B
 *    (it arrived once the buffer was drained) was still sent in A's world: the drain policy decides
 *    it as it decides buffered ones (a ClientReady of A's world is dropped, `client-ready-for-source`).
 *
 * Every dropped frame is counted under its rule; nothing the client sent is lost without one.
 */
import type { Migrator } from '@handoff/migration';
import type { WireFrame } from '@handoff/protocol';
import type { CaptureTap } from '@handoff/session';
import type { BackendRef } from '@handoff/types';
import type { FrameSink, FrameSource } from '../frames.js';
import type { PacketHook, PacketHookContext, PacketHooks } from './hooks.js';
import type { TraceAction } from '../trace.js';

/** Where the client's frames can go, as the session knows it. */
export interface ClientRouter {
  /** The sink of `backend`'s link while it is alive; `undefined` once it is gone. */
  sinkOf(backend: BackendRef): FrameSink | undefined;
  /** Resolves when routing may have changed (a migration phase, a link's end, the session's end). */
  changed(): Promise<void>;
  /**
   * A last word on a frame the migrator would forward to `backend`: a drop rule, or `undefined` to
   * forward it. The session uses it after a cut, for frames that arrive once the buffer is drained
   * but before the client's ClientReady reached B: they were sent in A's world, so the drain
   * policy still decides them.
   */
  admit?(frame: WireFrame, backend: BackendRef): string | undefined;
}

/** How the client loop ended. */
export type ClientLoopEnd =
  /** the client ended its stream at a frame boundary (it left) */
  | { readonly kind: 'ended' }
  /** the session stopped it */
  | { readonly kind: 'stopped' }
  /** the client's bytes were not frames (a `ProtocolError`) or its stream failed */
  | { readonly kind: 'client-error'; readonly error: unknown };

export interface ClientForwarderInit {
  readonly frames: FrameSource;
  /** The capture tap (only its client side is used: the session counts what it needs on the way). */
  readonly tap: Pick<CaptureTap, 'clientToServer'>;
  readonly migrator: Migrator<WireFrame>;
  readonly router: ClientRouter;
  readonly hooks?: PacketHooks | undefined;
  readonly hookContext: () => PacketHookContext;
  readonly onHookError: (hook: PacketHook, error: unknown) => void;
  /** The client's first PlayerOptions, before it is routed (opens the G3 uni streams). */
  readonly onPlayerOptions: () => Promise<void>;
  /** Every frame's fate: `forwarded`/`rewritten` to `backend`, `buffered`, or `dropped` by `rule`. */
  readonly onFrame: (frame: WireFrame, action: TraceAction, backend?: BackendRef, rule?: string) => void;
  readonly signal: AbortSignal;
}

/** Runs the client loop until the client leaves, fails, or the session stops it. */
export async function forwardClient(init: ClientForwarderInit): Promise<ClientLoopEnd> {
  const { frames, signal } = init;
  let optionsSeen = false;
  for (;;) {
    let frame: WireFrame | null;
    try {
      frame = await frames.next({ signal });
    } catch (error) {
      if (signal.aborted) return { kind: 'stopped' };
      return { kind: 'client-error', error };
    }
    if (frame === null) return { kind: 'ended' };
    const tapped = init.tap.clientToServer(frame);
    const pongBackend = tapped?.kind === 'pong' ? (tapped.backendId ?? null) : undefined;
    if (!optionsSeen && frame.descriptor.name === 'PlayerOptions') {
      optionsSeen = true;
      await init.onPlayerOptions().catch(() => {}); // a client gone meanwhile ends the loop on its next read
    }
    const hooks = init.hooks?.select('ToServer', frame.id);
    if (!hooks) {
      if (!(await route(init, frame, pongBackend, 'forwarded'))) return { kind: 'stopped' };
      continue;
    }
    const result = await init.hooks!.run(hooks, frame, init.hookContext(), (hook, error) => init.onHookError(hook, error));
    if (result.kind === 'dropped') {
      init.onFrame(frame, 'dropped', undefined, result.rule);
      continue;
    }
    if (result.kind === 'pass') {
      if (!(await route(init, result.frame, pongBackend, 'forwarded'))) return { kind: 'stopped' };
      continue;
    }
    for (const f of result.frames) {
      // a rewritten Pong keeps the route of the Pong it replaced only if it is still that Pong
      if (!(await route(init, f, f.id === frame.id ? pongBackend : undefined, 'rewritten'))) return { kind: 'stopped' };
    }
  }
}

/**
 * Routes one frame (step 5). `pongBackend`: for a Pong, the backend whose Ping it answers (`null`:
 * no known Ping); `undefined` for every other frame. Resolves false when the session stopped
 * while the frame waited (it is then dropped as `session-ended`).
 */
async function route(init: ClientForwarderInit, frame: WireFrame, pongBackend: string | null | undefined, action: TraceAction): Promise<boolean> {
  const { migrator, router, signal } = init;
  for (;;) {
    if (signal.aborted) {
      init.onFrame(frame, 'dropped', undefined, 'session-ended');
      return false;
    }
    const r = migrator.clientFrame(frame);
    switch (r.action) {
      case 'buffered':
        init.onFrame(frame, 'buffered');
        return true;
      case 'drop':
        init.onFrame(frame, 'dropped', undefined, r.rule);
        return true;
      case 'hold':
        await untilOrAbort(r.until, signal);
        continue;
      case 'forward': {
        if (pongBackend !== undefined && pongBackend !== r.backend.id) {
          init.onFrame(frame, 'dropped', r.backend, pongBackend === null ? 'pong-unmatched' : 'pong-for-other-backend');
          return true;
        }
        const rule = router.admit?.(frame, r.backend);
        if (rule !== undefined) {
          init.onFrame(frame, 'dropped', r.backend, rule);
          return true;
        }
        const sink = router.sinkOf(r.backend);
        if (sink) {
          try {
            await sink.write(frame.bytes);
            init.onFrame(frame, action, r.backend);
            return true;
          } catch {
            // the link is going: wait for the session to notice, then route again (the fail-over's buffer, or the end)
          }
        }
        await untilOrAbort(router.changed(), signal);
        continue;
      }
    }
  }
}

/** Resolves when `promise` settles or `signal` aborts, whichever is first (no listener left behind). */
async function untilOrAbort(promise: Promise<unknown>, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return;
  let onAbort!: () => void;
  const abort = new Promise<void>((resolve) => {
    onAbort = resolve;
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    await Promise.race([promise.then(noop, noop), abort]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

const noop = (): void => {};
