/**
 * Every code of `sessionErrorCodes` is reached by a scenario through the public API. The table is a
 * `Record` over the codes, so adding a code without a scenario fails the type-check. The guard
 * `isSessionError` recognises errors of another installed copy of the package (a brand).
 */
import { describe, expect, it, vi } from 'vitest';
import {
  MemoryDirectoryMap,
  SessionError,
  SessionRecord,
  assertClaimed,
  createCaptureTap,
  createMemoryDirectory,
  createSessionStore,
  isSessionError,
  sessionErrorCodes,
  type SessionErrorCode,
  type TapResult,
} from '@handoff/session';
import { G3, PLAYER, backend, bid, connectV2, ping, pong, rawFrame, setChunk, sid } from './support/frames.js';

/** Runs a scenario; returns the SessionError it threw, rejected with or returned (as a tap result). */
async function errorOf(scenario: () => unknown): Promise<SessionError | undefined> {
  try {
    const result = (await scenario()) as TapResult;
    return result?.kind === 'error' ? result.error : undefined;
  } catch (error) {
    return isSessionError(error) ? error : undefined;
  }
}

const connectedTap = (limits = {}) => {
  const tap = createCaptureTap(new SessionRecord({ backend: backend('a'), limits }));
  tap.clientToServer(connectV2());
  return tap;
};

const scenarios: Record<SessionErrorCode, () => unknown> = {
  ERR_SESSION_CONNECT_INVALID: () => createCaptureTap(new SessionRecord()).clientToServer(rawFrame(G3, 'Connect', new Uint8Array(2))),
  ERR_SESSION_NOT_CONNECTED: () => createCaptureTap(new SessionRecord()).serverToClient(ping(G3, 1), bid('a')),
  ERR_SESSION_DUPLICATE_CONNECT: () => connectedTap().clientToServer(connectV2()),
  ERR_SESSION_DECODE: () => connectedTap().serverToClient(rawFrame(G3, 'SetChunk', new Uint8Array(9))),
  ERR_SESSION_LIMIT: () => {
    const tap = connectedTap({ chunkColumns: 0 });
    return tap.serverToClient(setChunk(G3, 0, 0, 0));
  },
  ERR_SESSION_PING_LEDGER_OVERFLOW: () => {
    const tap = connectedTap({ pings: 1 });
    tap.serverToClient(ping(G3, 1));
    return tap.serverToClient(ping(G3, 2));
  },
  ERR_SESSION_PONG_UNMATCHED: () => {
    const tap = connectedTap();
    tap.clientToServer(pong(G3, 5, 'Raw'));
    return { kind: 'error', error: tap.errors.at(-1) };
  },
  ERR_SESSION_PONG_OUT_OF_ORDER: () => {
    const tap = connectedTap();
    tap.serverToClient(ping(G3, 1));
    tap.serverToClient(ping(G3, 2));
    tap.clientToServer(pong(G3, 2, 'Raw'));
    return { kind: 'error', error: tap.errors.at(-1) };
  },
  ERR_SESSION_CLAIM_CONFLICT: async () => {
    // claim() reports a conflict as a result; assertClaimed turns it into the error
    const shared = new MemoryDirectoryMap();
    await createMemoryDirectory({ proxyId: 'p1', shared }).claim({ clientUuid: PLAYER, sessionId: sid('s1'), backend: backend('a') });
    return assertClaimed(await createMemoryDirectory({ proxyId: 'p2', shared }).claim({ clientUuid: PLAYER, sessionId: sid('s2'), backend: backend('a') }));
  },
  ERR_SESSION_NOT_OWNER: () => createMemoryDirectory().heartbeat(PLAYER, sid('s1')),
  ERR_SESSION_DIRECTORY_UNAVAILABLE: () => createMemoryDirectory().lookup(PLAYER, { signal: AbortSignal.abort() }),
  ERR_SESSION_DUPLICATE_SESSION: () => {
    const store = createSessionStore();
    store.create({ id: sid('x') });
    store.create({ id: sid('x') });
  },
  ERR_SESSION_INVALID_ARGUMENT: () => new SessionRecord({ limits: { chunkColumns: 1.5 } }),
};

describe('sessionErrorCodes', () => {
  it('describes every code in one line with what to do', () => {
    for (const [code, meaning] of Object.entries(sessionErrorCodes)) {
      expect(code).toMatch(/^ERR_SESSION_[A-Z_]+$/);
      expect(meaning.length).toBeGreaterThan(40);
      expect(meaning).not.toContain('\n');
    }
  });

  for (const code of Object.keys(scenarios) as SessionErrorCode[]) {
    it(`${code} is reachable`, async () => {
      const error = await errorOf(scenarios[code]);
      expect(error?.code).toBe(code);
      expect(error?.name).toBe('SessionError');
    });
  }
});

describe('isSessionError', () => {
  it('recognises the errors of a second installed copy, where instanceof does not; causes are kept', async () => {
    vi.resetModules();
    const copy = await import('@handoff/session');
    vi.resetModules();
    const foreign = await errorOf(() => copy.createMemoryDirectory().heartbeat(PLAYER, sid('s1')));
    expect(foreign).toBeDefined();
    expect(foreign).not.toBeInstanceOf(SessionError);
    expect(isSessionError(foreign, 'ERR_SESSION_NOT_OWNER')).toBe(true);
    expect(isSessionError(foreign, 'ERR_SESSION_LIMIT')).toBe(false);
    expect(copy.isSessionError(new SessionError('ERR_SESSION_LIMIT'))).toBe(true);
    expect(isSessionError(Object.assign(new Error('x'), { code: 'ERR_SESSION_LIMIT', name: 'SessionError' }))).toBe(false);
    const decode = createCaptureTap(new SessionRecord({ backend: backend('a') }));
    decode.clientToServer(connectV2());
    const failed = decode.serverToClient(rawFrame(G3, 'JoinWorld', new Uint8Array(3)));
    expect(failed?.kind === 'error' && failed.error.cause).toMatchObject({ name: 'ProtocolError', code: 'ERR_PROTOCOL_TRUNCATED' });
  });
});
