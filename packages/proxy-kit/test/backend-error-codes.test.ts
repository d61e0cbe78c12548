/**
 * Every code of the backend side (connector, ticket policy, setup driver) is reached by a scenario
 * through the public API, and none of those errors carries a secret (the identity token, a ticket).
 * The table is a `Record` over the codes: a new code without a scenario fails the type-check.
 */
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { SessionRecord } from '@handoff/session';
import { createMemoryReplayStore } from '@handoff/tickets';
import { memory } from '@handoff/transport';
import { parseBackendRef } from '@handoff/types';
import {
  connectBackend,
  createSetupDriver,
  createTicketPolicy,
  isProxyError,
  proxyKitErrorCodes,
  type AssetPolicy,
  type ProxyErrorCode,
} from '@handoff/proxy-kit';
import { Closers, IDENTITY_TOKEN, PLAYER, PROXY_ADDRESS, PROXY_ID, network, recordFor, scriptedBackend, type ScriptIo } from './backend-fixtures.js';

const closers = new Closers();
afterEach(() => closers.closeAll());

const BACKEND_SIDE_CODES = [
  'ERR_PROXY_BACKEND_CONNECT_FAILED',
  'ERR_PROXY_BACKEND_CLOSED',
  'ERR_PROXY_BACKEND_NO_CHANNEL',
  'ERR_PROXY_BACKEND_PROTOCOL',
  'ERR_PROXY_TICKET_ISSUE_FAILED',
  'ERR_PROXY_SETUP_DISCONNECTED',
  'ERR_PROXY_SETUP_REFERRED',
  'ERR_PROXY_SETUP_PASSWORD',
  'ERR_PROXY_SETUP_UNEXPECTED_PACKET',
  'ERR_PROXY_SETUP_INCOMPATIBLE_ASSETS',
  'ERR_PROXY_SETUP_INCOMPLETE_RECORD',
  'ERR_PROXY_SETUP_HOLD_LIMIT',
  'ERR_PROXY_SETUP_ABORTED',
] as const satisfies readonly ProxyErrorCode[];
type BackendSideCode = (typeof BACKEND_SIDE_CODES)[number];

const TICKET = 'eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIn0.the-ticket-body.c2lnbmF0dXJl';
const WORLD = '0b1e4c2a-7d3f-4e5a-9c8b-1a2b3c4d5e6f';

/** Joins a scripted G2 backend and runs the driver's steps up to `step`. */
async function against(
  script: (io: ScriptIo) => Promise<void>,
  options: { readonly step?: 'auth' | 'sync'; readonly policy?: AssetPolicy; readonly maxHeldBytes?: number; readonly signal?: AbortSignal } = {},
): Promise<unknown> {
  const { config } = await scriptedBackend(closers, 'G2', script);
  const record = recordFor({ generation: 'G2' });
  const link = closers.add(await connectBackend(config, { record, ticket: TICKET, proxyAddress: PROXY_ADDRESS }), (l) => l.close());
  const driver = createSetupDriver({ link, record, assetPolicy: options.policy ?? 'swallow', maxHeldBytes: options.maxHeldBytes });
  if (options.step === 'sync') {
    await driver.auth();
    return driver.sync({ signal: options.signal });
  }
  return driver.auth({ signal: options.signal });
}

const accept = (io: ScriptIo, requiredAssets: { hash: string; name: string }[] = []) =>
  io.write(io.generation.packet('ConnectAccept').encodeFrame({ passwordChallenge: null })).then(() =>
    io.write(io.generation.packet('WorldSettings').encodeFrame({ worldHeight: 320, requiredAssets })),
  );

const scenarios: Record<BackendSideCode, () => Promise<unknown>> = {
  ERR_PROXY_BACKEND_CONNECT_FAILED: () =>
    connectBackend({ ref: parseBackendRef({ id: 'nowhere' }), address: { host: 'nowhere', port: 1 }, transport: memory() }, { record: recordFor(), proxyAddress: PROXY_ADDRESS }),
  ERR_PROXY_BACKEND_CLOSED: () =>
    against(
      async (io) => {
        await accept(io);
        await io.connection.close({ code: 0 });
      },
      { step: 'sync' },
    ),
  ERR_PROXY_BACKEND_NO_CHANNEL: async () => {
    const { config } = await scriptedBackend(closers, 'G2', async () => {});
    const link = closers.add(await connectBackend(config, { record: recordFor({ generation: 'G2' }), proxyAddress: PROXY_ADDRESS }), (l) => l.close());
    return link.channel('WorldMap');
  },
  ERR_PROXY_BACKEND_PROTOCOL: () => against((io) => io.write(new Uint8Array([5, 0, 0, 0, 0x7f, 0x7f, 0x7f, 0x7f, 0, 0, 0, 0, 0]))),
  ERR_PROXY_TICKET_ISSUE_FAILED: async () => {
    const net = await network(closers);
    for (const key of net.proxyKeys.list()) net.proxyKeys.retire(key.kid, 0);
    return createTicketPolicy({ proxyId: PROXY_ID, keyRing: net.proxyKeys, replayStore: createMemoryReplayStore(), backends: [], backendKeys: {} }).issue({
      clientUuid: PLAYER,
      target: parseBackendRef({ id: 'game' }),
    });
  },
  ERR_PROXY_SETUP_DISCONNECTED: () =>
    against(async (io) => {
      await io.write(io.generation.packet('ConnectAccept').encodeFrame({ passwordChallenge: null }));
      await io.write(io.generation.packet('Disconnect').encodeFrame({ reason: 'Migration ticket refused (ERR_TICKET_EXPIRED)', type: 'Disconnect' }));
    }),
  ERR_PROXY_SETUP_REFERRED: () =>
    against((io) => io.write(io.generation.packet('ClientReferral').encodeFrame({ hostTo: { host: 'elsewhere', port: 5520 }, data: new TextEncoder().encode(TICKET) }))),
  ERR_PROXY_SETUP_PASSWORD: () => against((io) => io.write(io.generation.packet('ConnectAccept').encodeFrame({ passwordChallenge: new Uint8Array(32).fill(7) }))),
  ERR_PROXY_SETUP_UNEXPECTED_PACKET: () =>
    against((io) => io.write(io.generation.packet('JoinWorld').encodeFrame({ clearWorld: false, fadeInOut: false, worldUuid: WORLD }))),
  ERR_PROXY_SETUP_INCOMPATIBLE_ASSETS: () => against((io) => accept(io, [{ hash: 'a'.repeat(64), name: 'Common/a.bin' }]), { step: 'sync', policy: 'require-identical' }),
  ERR_PROXY_SETUP_INCOMPLETE_RECORD: () => connectBackend({ ref: parseBackendRef({ id: 'b' }), address: { host: 'b', port: 1 }, transport: memory() }, { record: new SessionRecord(), proxyAddress: PROXY_ADDRESS }),
  ERR_PROXY_SETUP_HOLD_LIMIT: () =>
    against(
      async (io) => {
        await accept(io);
        for (let frame = await io.read(); frame !== null; frame = await io.read()) {
          if (frame.descriptor.name === 'RequestAssets') await io.write(io.generation.packet('WorldLoadFinished').encodeFrame({}));
          if (frame.descriptor.name === 'PlayerOptions') await io.write(io.generation.packet('ServerTags').encodeFrame({ tags: new Map([['pvp', 1]]) }));
        }
      },
      { step: 'sync', maxHeldBytes: 8 },
    ),
  ERR_PROXY_SETUP_ABORTED: () => against(async () => {}, { signal: AbortSignal.abort(new Error('Auth deadline')) }),
};

describe('backend-side error codes', () => {
  it('are all in the table of the package', () => {
    for (const code of BACKEND_SIDE_CODES) expect(proxyKitErrorCodes).toHaveProperty(code);
  });

  for (const code of BACKEND_SIDE_CODES) {
    it(`${code}: reached, typed, and free of secrets`, async () => {
      let error: unknown;
      try {
        await scenarios[code]();
      } catch (caught) {
        error = caught;
      }
      expect(isProxyError(error, code), `${code}, got ${String(error)}`).toBe(true);
      const shown = `${(error as Error).message} ${JSON.stringify(error)} ${inspect(error, { depth: 6 })}`;
      expect(shown).not.toContain(IDENTITY_TOKEN.slice(0, 30));
      expect(shown).not.toContain('the-ticket-body');
    });
  }
});
