/**
 * The one place the simulated backend touches `@handoff/tickets`: verifying the ticket a Connect
 * carries in `referralData`, as a backend plugin does in `PlayerSetupConnectEvent`. Everything the
 * backend needs of the tickets package goes through {@link createTicketCheck}.
 */
import {
  createMemoryReplayStore,
  createTicketVerifier,
  isTicketError,
  type KeyRing,
  type ReplayStore,
} from '@handoff/tickets';
import { isBackendId, type BackendId, type ClientUuid } from '@handoff/types';

/** How a backend checks migration tickets. */
export interface TicketCheckInit {
  /** The keys tickets may be signed with (e.g. `loadKeys(dir, { publicOnly: true })`). */
  readonly keyRing: KeyRing;
  /** Where nonces are consumed (default: a new in-memory store). Share a Redis store across backends. */
  readonly replayStore?: ReplayStore | undefined;
  /**
   * Maps a Connect's `referralSource` to the backend id the ticket must name as `iss`: a record keyed
   * by `host:port` or `host`, or a function. Without a match, a `referralSource` host that is itself a
   * valid backend id is taken as the source backend id.
   */
  readonly sources?: Readonly<Record<string, string>> | ((source: { host: string; port: number }) => string | undefined) | undefined;
  /** Longest accepted ticket lifetime in seconds (default 60). */
  readonly maxTtlSeconds?: number | undefined;
  /** Accepted clock skew in seconds (default 5). */
  readonly clockToleranceSeconds?: number | undefined;
}

/** What a ticket check found. Never carries the ticket itself. */
export type TicketOutcome =
  | { readonly result: 'accepted'; readonly source: BackendId; readonly kid: string; readonly pool?: string | undefined }
  | { readonly result: 'refused'; readonly code: string; readonly source?: BackendId | undefined };

export interface TicketCheck {
  verify(ticket: Uint8Array, binding: { clientUuid: ClientUuid; target: BackendId; referralSource: { host: string; port: number } }): Promise<TicketOutcome>;
  close(): Promise<void>;
}

function resolveSource(init: TicketCheckInit, source: { host: string; port: number }): BackendId | undefined {
  const { sources } = init;
  let id: string | undefined;
  if (typeof sources === 'function') id = sources(source);
  else if (sources) id = sources[`${source.host}:${source.port}`] ?? sources[source.host];
  id ??= source.host;
  return isBackendId(id) ? id : undefined;
}

export function createTicketCheck(init: TicketCheckInit, now: () => number): TicketCheck {
  const ownsStore = init.replayStore === undefined;
  const replayStore = init.replayStore ?? createMemoryReplayStore({ now });
  const verifier = createTicketVerifier({
    keyRing: init.keyRing,
    replayStore,
    now,
    ...(init.maxTtlSeconds === undefined ? {} : { maxTtlSeconds: init.maxTtlSeconds }),
    ...(init.clockToleranceSeconds === undefined ? {} : { clockToleranceSeconds: init.clockToleranceSeconds }),
  });
  return {
    async verify(ticket, binding) {
      const source = resolveSource(init, binding.referralSource);
      if (source === undefined) return { result: 'refused', code: 'unknown-referral-source' };
      try {
        const verified = await verifier.verify(ticket, { clientUuid: binding.clientUuid, source, target: binding.target });
        return { result: 'accepted', source, kid: verified.kid, pool: verified.pool };
      } catch (error) {
        return { result: 'refused', code: isTicketError(error) ? error.code : 'ERR_TICKET_UNEXPECTED', source };
      }
    },
    async close() {
      if (ownsStore) await replayStore.close();
    },
  };
}
