/**
 * Packet hooks: chosen by direction and packet name up front, run in order, awaited; a rewrite is
 * checked like frames off the wire; a hook that fails (or answers nonsense) drops the packet.
 */
import { describe, expect, it } from 'vitest';
import { readFrame } from '@handoff/protocol';
import { isProxyError } from '../src/errors.js';
import { PacketHooks, dropPacket, forwardPacket, rewritePacket, type PacketHook, type PacketHookContext } from '../src/forward/hooks.js';
import { G3, ping, unload } from './forward-support.js';

const ctx = { direction: 'ToClient', channel: 'Chunks' } as PacketHookContext;
const frame = (bytes: Uint8Array) => readFrame(G3.registry, bytes);

describe('packet hooks', () => {
  it('are selected by direction and name; hooks for every packet run after the named ones', () => {
    const named: PacketHook = { name: 'named', direction: 'ToClient', packets: ['UnloadChunk'], handle: () => undefined };
    const all: PacketHook = { name: 'all', direction: 'Both', handle: () => undefined };
    const hooks = new PacketHooks([all, named], G3);
    const id = (name: string) => G3.registry.byName(name)!.id;
    expect(hooks.select('ToClient', id('UnloadChunk'))?.map((h) => h.name)).toEqual(['named', 'all']);
    expect(hooks.select('ToClient', id('Ping'))?.map((h) => h.name)).toEqual(['all']);
    expect(new PacketHooks([named], G3).select('ToServer', id('UnloadChunk'))).toBeUndefined();
    expect(new PacketHooks([named], G3).select('ToClient', id('Ping'))).toBeUndefined();
  });

  it('refuses a hook without a direction or for a packet the generation does not have', () => {
    expect(() => new PacketHooks([{ direction: 'Sideways', handle: () => undefined } as never], G3)).toThrow(expect.objectContaining({ code: 'ERR_PROXY_INVALID_ARGUMENT' }));
    expect(() => new PacketHooks([{ direction: 'ToClient', packets: ['NoSuchPacket'], handle: () => undefined }], G3)).toThrow(/NoSuchPacket/);
  });

  it('run in order: forward passes, a rewrite feeds the next hook each new frame, a drop ends it', async () => {
    const seen: number[] = [];
    const hooks = new PacketHooks(
      [
        { direction: 'ToClient', packets: ['UnloadChunk'], handle: () => rewritePacket(Buffer.concat([unload(G3, 1), unload(G3, 2)])) },
        { direction: 'ToClient', packets: ['UnloadChunk'], handle: (f) => (seen.push(f.payload[0]!), forwardPacket()) },
      ],
      G3,
    );
    const result = await hooks.run(hooks.select('ToClient', frame(unload(G3, 0)).id)!, frame(unload(G3, 0)), ctx, () => {});
    expect(result.kind).toBe('rewritten');
    expect(seen).toEqual([1, 2]);
    const dropping = new PacketHooks([{ direction: 'ToClient', packets: ['Ping'], handle: async () => dropPacket('quiet') }], G3);
    expect(await dropping.run(dropping.select('ToClient', 2)!, frame(ping(G3, 1)), ctx, () => {})).toEqual({ kind: 'dropped', rule: 'hook:quiet' });
  });

  it('drop the packet (hook-failed) when a hook throws, answers nonsense, or rewrites into bytes that are not frames', async () => {
    const errors: unknown[] = [];
    const onError = (_: PacketHook, error: unknown) => void errors.push(error);
    const run = (handle: PacketHook['handle']) => {
      const hooks = new PacketHooks([{ direction: 'ToClient', packets: ['UnloadChunk'], handle }], G3);
      return hooks.run(hooks.select('ToClient', frame(unload(G3, 0)).id)!, frame(unload(G3, 0)), ctx, onError);
    };
    expect(await run(() => Promise.reject(new Error('boom')))).toEqual({ kind: 'dropped', rule: 'hook-failed' });
    expect(await run(() => ({ action: 'explode' }) as never)).toEqual({ kind: 'dropped', rule: 'hook-failed' });
    expect(await run(() => rewritePacket(unload(G3, 1).subarray(0, 10)))).toEqual({ kind: 'dropped', rule: 'hook-failed' });
    // a Ping is a Default packet: it cannot go on the Chunks stream
    expect(await run(() => rewritePacket(ping(G3, 1)))).toEqual({ kind: 'dropped', rule: 'hook-failed' });
    expect(errors).toHaveLength(4);
    expect(errors.slice(1).every((e) => isProxyError(e, 'ERR_PROXY_HOOK_FAILED'))).toBe(true);
  });
});
