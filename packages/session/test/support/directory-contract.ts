/**
 * The behaviour every session directory has, run against the in-memory one and the Redis one.
 * `network()` gives directories of several proxies that share one directory (one Redis, or one map),
 * and `expire(playerId)` makes a claimed entry lapse as if its proxy had died.
 */
import { describe, expect, it } from 'vitest';
import type { SessionDirectory } from '@handoff/session';
import { OTHER_PLAYER, PLAYER } from './frames.js';

export interface DirectoryNetwork {
  /** A directory of proxy `proxyId` (same shared state for every call). */
  proxy(proxyId: string): SessionDirectory;
  /** Lets the entry of `playerId` expire (advance a clock, or wait for Redis to drop it). */
  expire(playerId: string): Promise<void>;
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
      const result = await p1.claim({ playerId: PLAYER, sessionId: 's1', backend: { id: 'lobby-1', pool: 'lobby' } });
      expect(result).toMatchObject({ claimed: true, how: 'fresh' });
      expect(result.claimed && result.previous).toBe(undefined);
      const seen = await net.proxy('proxy-2').lookup(PLAYER);
      expect(seen).toMatchObject({ playerId: PLAYER, sessionId: 's1', proxyId: 'proxy-1', backend: { id: 'lobby-1', pool: 'lobby' }, phase: 'Idle' });
      // the expiry is one stored instant: exactly one TTL after the write that set it
      expect(seen!.expiresAt - seen!.updatedAt).toBe(p1.ttlMs);
      expect(seen).toEqual(result.claimed ? result.entry : undefined);
      expect(await p1.lookup(OTHER_PLAYER)).toBeUndefined();
    });

    it('a second proxy cannot take a live entry: it learns the holder and nothing changes', async () => {
      const net = await network();
      await net.proxy('proxy-1').claim({ playerId: PLAYER, sessionId: 's1', backend: { id: 'a' } });
      const r = await net.proxy('proxy-2').claim({ playerId: PLAYER, sessionId: 's9', backend: { id: 'b' } });
      expect(r).toMatchObject({ claimed: false, holder: { proxyId: 'proxy-1', sessionId: 's1', backend: { id: 'a' } } });
      expect(await net.proxy('proxy-2').lookup(PLAYER)).toMatchObject({ proxyId: 'proxy-1', sessionId: 's1' });
      await expectCode(net.proxy('proxy-2').heartbeat(PLAYER, 's9'), 'ERR_SESSION_NOT_OWNER');
      await expectCode(net.proxy('proxy-2').update(PLAYER, 's1', { phase: 'Freeze' }), 'ERR_SESSION_NOT_OWNER');
      expect(await net.proxy('proxy-2').release(PLAYER, 's1')).toBe(false);
      expect(await net.proxy('proxy-1').lookup(PLAYER)).toMatchObject({ proxyId: 'proxy-1', phase: 'Idle' });
    });

    it('the same proxy with another session is a conflict too; the owner re-claiming renews', async () => {
      const net = await network();
      const p1 = net.proxy('proxy-1');
      const first = await p1.claim({ playerId: PLAYER, sessionId: 's1', backend: { id: 'a' } });
      expect((await p1.claim({ playerId: PLAYER, sessionId: 's2', backend: { id: 'a' } })).claimed).toBe(false);
      await net.pass();
      const again = await p1.claim({ playerId: PLAYER, sessionId: 's1', backend: { id: 'b' }, phase: 'Cutover' });
      expect(again).toMatchObject({ claimed: true, how: 'renewed', entry: { backend: { id: 'b' }, phase: 'Cutover' }, previous: { backend: { id: 'a' } } });
      expect(again.claimed && first.claimed && again.entry.claimedAt).toBe(first.claimed && first.entry.claimedAt);
    });

    it('stealing is explicit; the robbed owner then loses every write', async () => {
      const net = await network();
      const p1 = net.proxy('proxy-1');
      const p2 = net.proxy('proxy-2');
      await p1.claim({ playerId: PLAYER, sessionId: 's1', backend: { id: 'a' } });
      const stolen = await p2.claim({ playerId: PLAYER, sessionId: 's2', backend: { id: 'b' } }, { steal: true });
      expect(stolen).toMatchObject({ claimed: true, how: 'stolen', previous: { proxyId: 'proxy-1', sessionId: 's1' }, entry: { proxyId: 'proxy-2' } });
      await expectCode(p1.heartbeat(PLAYER, 's1'), 'ERR_SESSION_NOT_OWNER');
      await expectCode(p1.update(PLAYER, 's1', { backend: { id: 'c' } }), 'ERR_SESSION_NOT_OWNER');
      expect(await p1.release(PLAYER, 's1')).toBe(false);
      expect(await p2.lookup(PLAYER)).toMatchObject({ proxyId: 'proxy-2', backend: { id: 'b' } });
    });

    it('heartbeat extends the entry; update changes backend, pool, phase and migration', async () => {
      const net = await network();
      const p1 = net.proxy('proxy-1');
      const claimed = await p1.claim({ playerId: PLAYER, sessionId: 's1', backend: { id: 'a', pool: 'lobby' }, migrationId: 'm0' });
      await net.pass();
      const beat = await p1.heartbeat(PLAYER, 's1');
      expect(beat.expiresAt).toBeGreaterThan(claimed.claimed ? claimed.entry.expiresAt : 0);
      expect(beat).toMatchObject({ backend: { id: 'a', pool: 'lobby' }, migrationId: 'm0' });
      const u1 = await p1.update(PLAYER, 's1', { phase: 'Sync', migrationId: 'm1' });
      expect(u1).toMatchObject({ phase: 'Sync', migrationId: 'm1', backend: { id: 'a', pool: 'lobby' } });
      const u2 = await p1.update(PLAYER, 's1', { backend: { id: 'game-7' }, phase: 'Idle', migrationId: null });
      expect(u2.backend).toEqual({ id: 'game-7' });
      expect(u2.phase).toBe('Idle');
      expect(u2.migrationId).toBeUndefined();
      expect(await net.proxy('proxy-2').lookup(PLAYER)).toEqual(u2);
    });

    it('release removes only the owner entry', async () => {
      const net = await network();
      const p1 = net.proxy('proxy-1');
      await p1.claim({ playerId: PLAYER, sessionId: 's1', backend: { id: 'a' } });
      expect(await p1.release(PLAYER, 's2')).toBe(false);
      expect(await p1.release(PLAYER, 's1')).toBe(true);
      expect(await p1.release(PLAYER, 's1')).toBe(false);
      expect(await p1.lookup(PLAYER)).toBeUndefined();
      expect(await net.proxy('proxy-2').claim({ playerId: PLAYER, sessionId: 's3', backend: { id: 'b' } })).toMatchObject({ claimed: true, how: 'fresh' });
    });

    it('a dead proxy entry expires: another proxy claims it fresh, the old owner is told it lost it', async () => {
      const net = await network();
      const p1 = net.proxy('proxy-1');
      await p1.claim({ playerId: PLAYER, sessionId: 's1', backend: { id: 'a' } });
      await net.expire(PLAYER);
      expect(await p1.lookup(PLAYER)).toBeUndefined();
      await expectCode(p1.heartbeat(PLAYER, 's1'), 'ERR_SESSION_NOT_OWNER');
      expect(await net.proxy('proxy-2').claim({ playerId: PLAYER, sessionId: 's2', backend: { id: 'b' } })).toMatchObject({ claimed: true, how: 'fresh' });
    });

    it('concurrent claims by many proxies: exactly one wins', async () => {
      const net = await network();
      const proxies = Array.from({ length: 8 }, (_, i) => net.proxy(`proxy-${i}`));
      for (let round = 0; round < 5; round++) {
        const player = `${round}f2b8c1e-0d4a-4c6b-9e7f-1a2b3c4d5e6f`;
        const results = await Promise.all(proxies.map((p, i) => p.claim({ playerId: player, sessionId: `s${i}`, backend: { id: 'a' } })));
        const winners = results.filter((r) => r.claimed);
        expect(winners).toHaveLength(1);
        const winner = winners[0]!.claimed ? winners[0]!.entry.proxyId : '';
        for (const r of results) if (!r.claimed) expect(r.holder.proxyId).toBe(winner);
      }
    });

    it('player UUIDs are case-insensitive; invalid arguments are typed errors', async () => {
      const net = await network();
      const p1 = net.proxy('proxy-1');
      await p1.claim({ playerId: PLAYER.toUpperCase(), sessionId: 's1', backend: { id: 'a' } });
      expect(await p1.lookup(PLAYER)).toMatchObject({ playerId: PLAYER });
      await expectCode(p1.claim({ playerId: 'not-a-uuid', sessionId: 's1', backend: { id: 'a' } }), 'ERR_SESSION_INVALID_ARGUMENT');
      await expectCode(p1.claim({ playerId: PLAYER, sessionId: 'with space', backend: { id: 'a' } }), 'ERR_SESSION_INVALID_ARGUMENT');
      await expectCode(p1.claim({ playerId: PLAYER, sessionId: 's1', backend: { id: '' } }), 'ERR_SESSION_INVALID_ARGUMENT');
      await expectCode(p1.update(PLAYER, 's1', { phase: '' }), 'ERR_SESSION_INVALID_ARGUMENT');
      await expectCode(p1.lookup('x'), 'ERR_SESSION_INVALID_ARGUMENT');
    });

    it('an aborted call is a typed error and changes nothing', async () => {
      const net = await network();
      const p1 = net.proxy('proxy-1');
      const controller = new AbortController();
      controller.abort();
      await expectCode(p1.claim({ playerId: PLAYER, sessionId: 's1', backend: { id: 'a' } }, { signal: controller.signal }), 'ERR_SESSION_DIRECTORY_UNAVAILABLE');
      expect(await p1.lookup(PLAYER)).toBeUndefined();
    });
  });
}
