/**
 * The behaviour every session directory has, run against the in-memory one and the Redis one.
 * `network()` gives directories of several proxies that share one directory (one Redis, or one map),
 * and `expire(clientUuid)` makes a claimed entry lapse as if its proxy had died.
 */
import { describe, expect, it } from 'vitest';
import type { SessionDirectory } from '@handoff/session';
import { parseClientUuid, type ClientUuid, type MigrationId, type Phase, type SessionId } from '@handoff/types';
import { OTHER_PLAYER, PLAYER, backend, mid, sid } from './frames.js';

export interface DirectoryNetwork {
  /** A directory of proxy `proxyId` (same shared state for every call). */
  proxy(proxyId: string): SessionDirectory;
  /** Lets the entry of `clientUuid` expire (advance a clock, or wait for Redis to drop it). */
  expire(clientUuid: ClientUuid): Promise<void>;
  /** Lets some time pass (so timestamps move). */
  pass(): Promise<void>;
}

const expectCode = async (p: Promise<unknown>, code: string): Promise<void> => {
  await expect(p).rejects.toMatchObject({ name: 'SessionError', code });
};

export function directoryContract(name: string, network: () => Promise<DirectoryNetwork>): void {
  describe(`${name}: directory contract`, () => {
    it('claims a free entry; every proxy sees who holds the player, where and in which phase', async () => {
      const net = await network();
      const p1 = net.proxy('proxy-1');
      const result = await p1.claim({ clientUuid: PLAYER, sessionId: sid('s1'), backend: backend('lobby-1', 'lobby') });
      expect(result).toMatchObject({ claimed: true, how: 'fresh' });
      expect(result.claimed && result.previous).toBe(undefined);
      const seen = await net.proxy('proxy-2').lookup(PLAYER);
      expect(seen).toMatchObject({ clientUuid: PLAYER, sessionId: sid('s1'), proxyId: 'proxy-1', backend: backend('lobby-1', 'lobby'), phase: 'Idle' });
      // the expiry is one stored instant: exactly one TTL after the write that set it
      expect(seen!.expiresAt - seen!.updatedAt).toBe(p1.ttlMs);
      expect(seen).toEqual(result.claimed ? result.entry : undefined);
      expect(await p1.lookup(OTHER_PLAYER)).toBeUndefined();
    });

    it('a second proxy cannot take a live entry: it learns the holder and nothing changes', async () => {
      const net = await network();
      await net.proxy('proxy-1').claim({ clientUuid: PLAYER, sessionId: sid('s1'), backend: backend('a') });
      const r = await net.proxy('proxy-2').claim({ clientUuid: PLAYER, sessionId: sid('s9'), backend: backend('b') });
      expect(r).toMatchObject({ claimed: false, holder: { proxyId: 'proxy-1', sessionId: sid('s1'), backend: backend('a') } });
      expect(await net.proxy('proxy-2').lookup(PLAYER)).toMatchObject({ proxyId: 'proxy-1', sessionId: sid('s1') });
      await expectCode(net.proxy('proxy-2').heartbeat(PLAYER, sid('s9')), 'ERR_SESSION_NOT_OWNER');
      await expectCode(net.proxy('proxy-2').update(PLAYER, sid('s1'), { phase: 'Freeze' }), 'ERR_SESSION_NOT_OWNER');
      expect(await net.proxy('proxy-2').release(PLAYER, sid('s1'))).toBe(false);
      expect(await net.proxy('proxy-1').lookup(PLAYER)).toMatchObject({ proxyId: 'proxy-1', phase: 'Idle' });
    });

    it('the same proxy with another session is a conflict too; the owner re-claiming renews', async () => {
      const net = await network();
      const p1 = net.proxy('proxy-1');
      const first = await p1.claim({ clientUuid: PLAYER, sessionId: sid('s1'), backend: backend('a') });
      expect((await p1.claim({ clientUuid: PLAYER, sessionId: sid('s2'), backend: backend('a') })).claimed).toBe(false);
      await net.pass();
      const again = await p1.claim({ clientUuid: PLAYER, sessionId: sid('s1'), backend: backend('b'), phase: 'Cutover' });
      expect(again).toMatchObject({ claimed: true, how: 'renewed', entry: { backend: backend('b'), phase: 'Cutover' }, previous: { backend: backend('a') } });
      expect(again.claimed && first.claimed && again.entry.claimedAt).toBe(first.claimed && first.entry.claimedAt);
    });

    it('stealing is explicit; the robbed owner then loses every write', async () => {
      const net = await network();
      const p1 = net.proxy('proxy-1');
      const p2 = net.proxy('proxy-2');
      await p1.claim({ clientUuid: PLAYER, sessionId: sid('s1'), backend: backend('a') });
      const stolen = await p2.claim({ clientUuid: PLAYER, sessionId: sid('s2'), backend: backend('b') }, { steal: true });
      expect(stolen).toMatchObject({ claimed: true, how: 'stolen', previous: { proxyId: 'proxy-1', sessionId: sid('s1') }, entry: { proxyId: 'proxy-2' } });
      await expectCode(p1.heartbeat(PLAYER, sid('s1')), 'ERR_SESSION_NOT_OWNER');
      await expectCode(p1.update(PLAYER, sid('s1'), { backend: backend('c') }), 'ERR_SESSION_NOT_OWNER');
      expect(await p1.release(PLAYER, sid('s1'))).toBe(false);
      expect(await p2.lookup(PLAYER)).toMatchObject({ proxyId: 'proxy-2', backend: backend('b') });
    });

    it('heartbeat extends the entry; update changes backend, pool, phase and migration', async () => {
      const net = await network();
      const p1 = net.proxy('proxy-1');
      const claimed = await p1.claim({ clientUuid: PLAYER, sessionId: sid('s1'), backend: backend('a', 'lobby'), migrationId: mid('m0') });
      await net.pass();
      const beat = await p1.heartbeat(PLAYER, sid('s1'));
      expect(beat.expiresAt).toBeGreaterThan(claimed.claimed ? claimed.entry.expiresAt : 0);
      expect(beat).toMatchObject({ backend: backend('a', 'lobby'), migrationId: mid('m0') });
      const u1 = await p1.update(PLAYER, sid('s1'), { phase: 'Sync', migrationId: mid('m1') });
      expect(u1).toMatchObject({ phase: 'Sync', migrationId: mid('m1'), backend: backend('a', 'lobby') });
      const u2 = await p1.update(PLAYER, sid('s1'), { backend: backend('game-7'), phase: 'Idle', migrationId: null });
      expect(u2.backend).toEqual({ id: 'game-7' });
      expect(u2.phase).toBe('Idle');
      expect(u2.migrationId).toBeUndefined();
      expect(await net.proxy('proxy-2').lookup(PLAYER)).toEqual(u2);
    });

    it('release removes only the owner entry', async () => {
      const net = await network();
      const p1 = net.proxy('proxy-1');
      await p1.claim({ clientUuid: PLAYER, sessionId: sid('s1'), backend: backend('a') });
      expect(await p1.release(PLAYER, sid('s2'))).toBe(false);
      expect(await p1.release(PLAYER, sid('s1'))).toBe(true);
      expect(await p1.release(PLAYER, sid('s1'))).toBe(false);
      expect(await p1.lookup(PLAYER)).toBeUndefined();
      expect(await net.proxy('proxy-2').claim({ clientUuid: PLAYER, sessionId: sid('s3'), backend: backend('b') })).toMatchObject({ claimed: true, how: 'fresh' });
    });

    it('a dead proxy entry expires: another proxy claims it fresh, the old owner is told it lost it', async () => {
      const net = await network();
      const p1 = net.proxy('proxy-1');
      await p1.claim({ clientUuid: PLAYER, sessionId: sid('s1'), backend: backend('a') });
      await net.expire(PLAYER);
      expect(await p1.lookup(PLAYER)).toBeUndefined();
      await expectCode(p1.heartbeat(PLAYER, sid('s1')), 'ERR_SESSION_NOT_OWNER');
      expect(await net.proxy('proxy-2').claim({ clientUuid: PLAYER, sessionId: sid('s2'), backend: backend('b') })).toMatchObject({ claimed: true, how: 'fresh' });
    });

    it('concurrent claims by many proxies: exactly one wins', async () => {
      const net = await network();
      const proxies = Array.from({ length: 8 }, (_, i) => net.proxy(`proxy-${i}`));
      for (let round = 0; round < 5; round++) {
        const player = parseClientUuid(`${round}f2b8c1e-0d4a-4c6b-9e7f-1a2b3c4d5e6f`);
        const results = await Promise.all(proxies.map((p, i) => p.claim({ clientUuid: player, sessionId: sid(`s${i}`), backend: backend('a') })));
        const winners = results.filter((r) => r.claimed);
        expect(winners).toHaveLength(1);
        const winner = winners[0]!.claimed ? winners[0]!.entry.proxyId : '';
        for (const r of results) if (!r.claimed) expect(r.holder.proxyId).toBe(winner);
      }
    });

    it('client UUIDs are case-insensitive; invalid arguments (from untyped callers) are typed errors', async () => {
      const net = await network();
      const p1 = net.proxy('proxy-1');
      await p1.claim({ clientUuid: PLAYER.toUpperCase() as ClientUuid, sessionId: sid('s1'), backend: backend('a') });
      expect(await p1.lookup(PLAYER)).toMatchObject({ clientUuid: PLAYER });
      expect(await p1.lookup(PLAYER.toUpperCase() as ClientUuid)).toMatchObject({ clientUuid: PLAYER });
      await expectCode(p1.claim({ clientUuid: 'not-a-uuid' as ClientUuid, sessionId: sid('s1'), backend: backend('a') }), 'ERR_SESSION_INVALID_ARGUMENT');
      await expectCode(p1.claim({ clientUuid: PLAYER, sessionId: 'with space' as SessionId, backend: backend('a') }), 'ERR_SESSION_INVALID_ARGUMENT');
      await expectCode(p1.claim({ clientUuid: PLAYER, sessionId: sid('s1'), backend: { id: '' } as never }), 'ERR_SESSION_INVALID_ARGUMENT');
      await expectCode(p1.claim({ clientUuid: PLAYER, sessionId: sid('s1'), backend: backend('a'), migrationId: 'm 1' as MigrationId }), 'ERR_SESSION_INVALID_ARGUMENT');
      await expectCode(p1.update(PLAYER, sid('s1'), { phase: '' as Phase }), 'ERR_SESSION_INVALID_ARGUMENT');
      await expectCode(p1.update(PLAYER, sid('s1'), { phase: 'Warp' as Phase }), 'ERR_SESSION_INVALID_ARGUMENT');
      await expectCode(p1.lookup('x' as ClientUuid), 'ERR_SESSION_INVALID_ARGUMENT');
      expect(await p1.lookup(PLAYER)).toMatchObject({ phase: 'Idle', sessionId: 's1' });
    });

    it('an aborted call is a typed error and changes nothing', async () => {
      const net = await network();
      const p1 = net.proxy('proxy-1');
      const controller = new AbortController();
      controller.abort();
      await expectCode(p1.claim({ clientUuid: PLAYER, sessionId: sid('s1'), backend: backend('a') }, { signal: controller.signal }), 'ERR_SESSION_DIRECTORY_UNAVAILABLE');
      expect(await p1.lookup(PLAYER)).toBeUndefined();
    });
  });
}
