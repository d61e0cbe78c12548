/**
 * Backend → client: one forwarder per channel of a backend link, each writing to the client's
 * channel of the same name. Per frame, in order: (1) wait while reads are paused (an awaited
 * migration hook, a packet hook on another frame); (2) read one frame — the link reads its
 * transport only when asked, so a slow client slows the backend's reads and nothing queues; (3) on
 * `Default`, a `Disconnect` or `ClientReferral` is offered to the session first (kick and referral
 * handling), which may keep it; (4) packet hooks; (5) the migrator's gate (a frame boundary the
 * cutover barrier can stop at); (6) the capture tap and the write.
 */
import type { StreamGate } from '@handoff/migration';
import type { WireFrame } from '@handoff/protocol';
import type { BackendLink, ChannelName } from '../contracts.js';
import type { ClientChannels } from './client-channels.js';
import type { HookResult, PacketHook, PacketHookContext, PacketHooks } from './hooks.js';
import type { HookPause, ReadPermit } from './read-pause.js';
import type { TraceAction } from '../trace.js';

/** How one channel's forwarder stopped. */
export type ForwardEnd =
  /** the backend ended the channel at a frame boundary */
  | { readonly kind: 'ended'; readonly channel: ChannelName }
  /** its gate closed: the cutover left this backend (or a fail-over closed the barrier) */
  | { readonly kind: 'cut'; readonly channel: ChannelName }
  /** the session stopped it (its signal) */
  | { readonly kind: 'stopped'; readonly channel: ChannelName }
  /** reading the backend failed (transport error, malformed frame) */
  | { readonly kind: 'backend-failed'; readonly channel: ChannelName; readonly error: unknown }
  /** writing to the client failed */
  | { readonly kind: 'client-failed'; readonly channel: ChannelName; readonly error: unknown };

export interface BackendForwarderInit {
  readonly link: BackendLink;
  readonly channels: ClientChannels;
  /** A gate per channel from the migrator (`migrator.gate(name)`): made when the forwarder starts. */
  readonly gate: (name: string) => StreamGate;
  /** Reads wait while this is paused (the migrator's `backendReads` and the hook pause together). */
  readonly reads: ReadPermit;
  /** Held while a packet hook runs on one of this backend's frames. */
  readonly hookPause: HookPause;
  readonly hooks?: PacketHooks | undefined;
  readonly hookContext: (channel: ChannelName) => PacketHookContext;
  readonly onHookError: (hook: PacketHook, error: unknown) => void;
  /**
   * A `Disconnect` or `ClientReferral` from this backend, before it reaches the client: resolve true
   * when the session keeps it (it is then not forwarded).
   */
  readonly intercept: (frame: WireFrame) => boolean | Promise<boolean>;
  /** Every frame written to the client (tap, counters, trace). Called before the write. */
  readonly onFrame: (frame: WireFrame, channel: ChannelName, action: TraceAction, rule?: string) => void;
  /** Each channel's end, as it happens (a failed read of one channel is the backend's failure). */
  readonly onEnd?: ((end: ForwardEnd) => void) | undefined;
  /** Frames to write before reading the link (held by the cutover), per channel. */
  readonly queued?: Partial<Record<ChannelName, readonly WireFrame[]>> | undefined;
  readonly signal: AbortSignal;
}

/** The running forwarders of one link. */
export interface BackendForwarding {
  /** Resolves once every channel's forwarder stopped; never rejects. */
  readonly done: Promise<readonly ForwardEnd[]>;
}

const INTERCEPTED: ReadonlySet<string> = new Set(['Disconnect', 'ClientReferral']);

/** Starts forwarding every client channel from `init.link`. */
export function forwardBackend(init: BackendForwarderInit): BackendForwarding {
  const done = Promise.all(
    init.channels.names.map(async (channel) => {
      const end = await forwardChannel(init, channel);
      init.onEnd?.(end);
      return end;
    }),
  );
  return { done };
}

async function forwardChannel(init: BackendForwarderInit, channel: ChannelName): Promise<ForwardEnd> {
  const { link, signal } = init;
  const gate = init.gate(`${link.backend.id}/${channel}`);
  const at = { stage: 'read' as 'read' | 'write' };
  /** Writes one frame through the gate; false once the gate closed (the frame is dropped). */
  const pass = async (frame: WireFrame, action: TraceAction): Promise<boolean> => {
    const entered = gate.enter();
    if (!(entered === true || (await entered))) {
      init.onFrame(frame, channel, 'dropped', 'after-cut');
      return false;
    }
    try {
      init.onFrame(frame, channel, action);
      at.stage = 'write';
      await init.channels.write(channel, frame.bytes);
      at.stage = 'read';
    } finally {
      gate.exit();
    }
    return true;
  };
  const handle = async (frame: WireFrame): Promise<boolean> => {
    if (channel === 'Default' && INTERCEPTED.has(frame.descriptor.name) && (await init.intercept(frame))) {
      init.onFrame(frame, channel, 'suppressed');
      return true;
    }
    const hooks = init.hooks?.select('ToClient', frame.id);
    if (!hooks) return pass(frame, 'forwarded');
    const release = init.hookPause.hold();
    let result: HookResult;
    try {
      result = await init.hooks!.run(hooks, frame, init.hookContext(channel), (hook, error) => init.onHookError(hook, error));
    } finally {
      release();
    }
    if (result.kind === 'dropped') {
      init.onFrame(frame, channel, 'dropped', result.rule);
      return true;
    }
    if (result.kind === 'pass') return pass(result.frame, 'forwarded');
    for (const f of result.frames) if (!(await pass(f, 'rewritten'))) return false;
    return true;
  };

  try {
    for (const frame of init.queued?.[channel] ?? []) {
      if (!(await handle(frame))) return { kind: 'cut', channel };
    }
    const source = await link.channel(channel, { signal });
    for (;;) {
      if (init.reads.paused) await init.reads.whenReadable();
      signal.throwIfAborted();
      const frame = await source.next({ signal });
      if (frame === null) return { kind: 'ended', channel };
      if (!(await handle(frame))) return { kind: 'cut', channel };
    }
  } catch (error) {
    if (signal.aborted) return { kind: 'stopped', channel };
    return at.stage === 'write' ? { kind: 'client-failed', channel, error } : { kind: 'backend-failed', channel, error };
  } finally {
    gate.end();
  }
}
