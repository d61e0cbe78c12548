/**
 * Packet hooks: the proxy author's say over single packets as they cross the proxy. A hook is
 * awaited and returns a decision (forward, rewrite, drop), and may inject frames of its own before
 * the packet. Hooks are selected by direction and packet name once, up front: a packet no hook asks
 * for costs one array lookup.
 */
import { readFrame, type Generation, type WireFrame } from '@handoff/protocol';
import type { BackendRef, ClientUuid, Phase, SessionId } from '@handoff/types';
import type { ChannelName } from '../contracts.js';
import { ProxyError } from '../errors.js';

/** Which way a packet travels: `ToClient` (from a backend) or `ToServer` (from the client). */
export type PacketDirection = 'ToClient' | 'ToServer';

/** What a packet hook decides. `undefined` (or nothing returned) forwards the packet unchanged. */
export type PacketDecision =
  | { readonly action: 'forward' }
  /** Replace the packet with these whole frames (one or more, of the session's generation; may be empty). */
  | { readonly action: 'rewrite'; readonly bytes: Uint8Array }
  /** The packet goes nowhere; counted under `hook:<reason>`. */
  | { readonly action: 'drop'; readonly reason: string };

/** Packet-hook decision: forward the packet unchanged. */
export const forwardPacket = (): PacketDecision => ({ action: 'forward' });
/** Packet-hook decision: send `bytes` (whole frames) instead of the packet. */
export const rewritePacket = (bytes: Uint8Array): PacketDecision => ({ action: 'rewrite', bytes });
/** Packet-hook decision: the packet goes nowhere (counted under `hook:<reason>`). */
export const dropPacket = (reason: string): PacketDecision => ({ action: 'drop', reason });

/** What a packet hook receives besides the frame. */
export interface PacketHookContext {
  readonly direction: PacketDirection;
  /** The channel the packet travels on (`Default` for everything the client sends). */
  readonly channel: ChannelName;
  /** `ToClient`: the backend that sent it; `ToServer`: the backend the player is on. */
  readonly backend: BackendRef;
  readonly clientUuid: ClientUuid;
  readonly sessionId: SessionId;
  /** The migration phase of the session (`Idle` between migrations). */
  readonly phase: Phase;
  /** Writes whole frames to the client, ahead of this packet (on `channel`, default this packet's channel, or `Default`). */
  injectToClient(bytes: Uint8Array, channel?: ChannelName): Promise<void>;
  /** Writes whole frames to the backend of `backend`, ahead of this packet (its bidi stream). */
  injectToBackend(bytes: Uint8Array): Promise<void>;
  /** Aborted when the session closes. */
  readonly signal: AbortSignal;
}

/** One packet hook. */
export interface PacketHook {
  /** For logs and counters. */
  readonly name?: string;
  /** The direction(s) it sees. */
  readonly direction: PacketDirection | 'Both';
  /**
   * The packet names it sees (the generation's names: `ChatMessage`, `SetChunk`…). Absent: every
   * packet of its direction, which costs an await per packet; name the packets you need.
   */
  readonly packets?: readonly string[];
  handle(frame: WireFrame, ctx: PacketHookContext): PacketDecision | undefined | void | Promise<PacketDecision | undefined | void>;
}

/** What became of one packet after the hooks. */
export type HookResult =
  | { readonly kind: 'pass'; readonly frame: WireFrame }
  /** Rewritten: these frames go instead (possibly none). */
  | { readonly kind: 'rewritten'; readonly frames: readonly WireFrame[] }
  | { readonly kind: 'dropped'; readonly rule: string };

/**
 * The hooks of one session, indexed by direction and packet id for the generation the client
 * speaks. `select()` answers "does any hook want this packet?" with one array lookup.
 */
export class PacketHooks {
  readonly #generation: Generation;
  readonly #byId: Record<PacketDirection, Array<PacketHook[] | undefined>> = { ToClient: [], ToServer: [] };
  readonly #all: Record<PacketDirection, PacketHook[]> = { ToClient: [], ToServer: [] };
  readonly size: number;

  constructor(hooks: readonly PacketHook[], generation: Generation) {
    this.#generation = generation;
    this.size = hooks.length;
    for (const hook of hooks) {
      if (typeof hook?.handle !== 'function' || !['ToClient', 'ToServer', 'Both'].includes(hook.direction)) {
        throw new ProxyError('ERR_PROXY_INVALID_ARGUMENT', `packet hook ${hook?.name ?? '(unnamed)'} needs a direction and a handle() function`);
      }
      const directions: PacketDirection[] = hook.direction === 'Both' ? ['ToClient', 'ToServer'] : [hook.direction];
      for (const direction of directions) {
        if (hook.packets === undefined) {
          this.#all[direction].push(hook);
          continue;
        }
        for (const name of hook.packets) {
          const descriptor = generation.registry.byName(name);
          if (!descriptor) {
            throw new ProxyError('ERR_PROXY_INVALID_ARGUMENT', `packet hook ${hook.name ?? '(unnamed)'}: no packet named "${name}" in ${generation.id}`);
          }
          (this.#byId[direction][descriptor.id] ??= []).push(hook);
        }
      }
    }
    // hooks for every packet run after the named ones, in the order given
    for (const direction of ['ToClient', 'ToServer'] as const) {
      if (this.#all[direction].length === 0) continue;
      const table = this.#byId[direction];
      for (let id = 0; id < table.length; id++) if (table[id]) table[id] = [...table[id]!, ...this.#all[direction]];
    }
  }

  /** The hooks that want packet `id` going `direction`, or undefined (the common case). */
  select(direction: PacketDirection, id: number): readonly PacketHook[] | undefined {
    const named = this.#byId[direction][id];
    if (named) return named;
    const all = this.#all[direction];
    return all.length > 0 ? all : undefined;
  }

  /**
   * Runs `hooks` over `frame` in order; a rewrite feeds the next hook each rewritten frame. A hook that
   * throws or returns something that is not a decision drops the packet (`hook-failed`): hooks decide,
   * and one that could not decide lets nothing through unseen.
   */
  async run(hooks: readonly PacketHook[], frame: WireFrame, ctx: PacketHookContext, onError: (hook: PacketHook, error: unknown) => void): Promise<HookResult> {
    let frames: WireFrame[] = [frame];
    let rewritten = false;
    for (const hook of hooks) {
      const next: WireFrame[] = [];
      for (const current of frames) {
        let decision: PacketDecision | undefined | void;
        try {
          decision = await hook.handle(current, ctx);
        } catch (error) {
          onError(hook, error);
          return { kind: 'dropped', rule: 'hook-failed' };
        }
        if (decision === undefined || decision.action === 'forward') {
          next.push(current);
        } else if (decision.action === 'drop') {
          return { kind: 'dropped', rule: `hook:${typeof decision.reason === 'string' && decision.reason ? decision.reason : 'drop'}` };
        } else if (decision.action === 'rewrite' && decision.bytes instanceof Uint8Array) {
          try {
            next.push(...this.split(decision.bytes, ctx.direction, ctx.channel));
          } catch (error) {
            onError(hook, error);
            return { kind: 'dropped', rule: 'hook-failed' };
          }
          rewritten = true;
        } else {
          onError(hook, new ProxyError('ERR_PROXY_HOOK_FAILED', `packet hook ${hook.name ?? '(unnamed)'} returned an invalid decision`));
          return { kind: 'dropped', rule: 'hook-failed' };
        }
      }
      frames = next;
      if (frames.length === 0) break;
    }
    return rewritten ? { kind: 'rewritten', frames } : { kind: 'pass', frame: frames[0]! };
  }

  /** Whole frames of the session's generation from `bytes`, checked like frames off the wire. */
  split(bytes: Uint8Array, direction: PacketDirection, channel: ChannelName): WireFrame[] {
    const out: WireFrame[] = [];
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let pos = 0;
    const options = this.#generation.serverUniStreams.length > 0 && direction === 'ToClient' ? { direction, channel } : { direction };
    while (pos < bytes.length) {
      if (bytes.length - pos < 8) throw new ProxyError('ERR_PROXY_HOOK_FAILED', 'rewritten bytes end inside a frame header');
      const length = view.getInt32(pos, true);
      const end = pos + 8 + Math.max(0, length);
      if (length < 0 || end > bytes.length) throw new ProxyError('ERR_PROXY_HOOK_FAILED', 'rewritten bytes end inside a frame');
      try {
        out.push(readFrame(this.#generation.registry, bytes.subarray(pos, end), options));
      } catch (cause) {
        throw new ProxyError('ERR_PROXY_HOOK_FAILED', 'rewritten bytes are not a frame of this generation and channel', { cause });
      }
      pos = end;
    }
    return out;
  }
}
