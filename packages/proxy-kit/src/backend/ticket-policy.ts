/**
 * Ticket trust on the backend side (docs/proxy-kit.md, "Ticket trust"):
 *
 * - The proxy issues the tickets every backend verifies: signed with the proxy's key, `iss` = the
 *   proxy's id, `aud` = the backend joined, `sub` = the player. The first join carries one too, so a
 *   backend may refuse every join without a ticket.
 * - A backend that wants a player moved sends `ClientReferral` with a ticket signed by its own key
 *   (`iss` = that backend, `aud` = the target, which the proxy finds from the referral's host and port
 *   among its backend configs). The proxy verifies it against that backend's public keys, consuming its
 *   nonce, and then migrates with a fresh ticket of its own for the target.
 * - Anything else makes the referral an ordinary one, forwarded to the client unchanged: a typed
 *   decision with its reason, never a throw. A replay store that cannot answer fails closed.
 */
import {
  createTicketIssuer,
  createTicketVerifier,
  isTicketError,
  loadTicketState,
  type KeyRing,
  type PoolPolicy,
  type PoolStatus,
  type ReplayStore,
  type TicketIssuer,
  type TicketStateStore,
  type TicketVerifier,
} from '@handoff/tickets';
import { portFromWire, type Frame, type Generation } from '@handoff/protocol';
import type { Address } from '@handoff/transport';
import { isClientUuid, parseBackendId, type BackendId, type BackendRef, type ClientUuid, type Logger, type SessionId } from '@handoff/types';
import type { BackendConfig } from '../contracts.js';
import { ProxyError } from '../errors.js';

/** Construction options of {@link createTicketPolicy}. */
export interface TicketPolicyInit {
  /**
   * The proxy's id: the `iss` of every ticket it issues. Backends map the proxy's address (the
   * `referralSource` of its Connects) to this id, and trust the proxy's public keys for it.
   */
  readonly proxyId: BackendId | string;
  /** The proxy's signing keys (`loadKeys(dir)` of a key directory with `signing-key.jwk`). */
  readonly keyRing: KeyRing;
  /** Lifetime of the tickets the proxy issues, in seconds (default 30). */
  readonly ttlSeconds?: number | undefined;
  /** Where the nonces of referral tickets are consumed (memory for one proxy, Redis for several). */
  readonly replayStore: ReplayStore;
  /** The backends (or a function returning them now): a referral's host and port are looked up among their addresses. */
  readonly backends: readonly BackendConfig[] | (() => Iterable<BackendConfig>);
  /**
   * Each backend's public keys (`loadKeys(dir, { publicOnly: true })` of its key directory), by backend
   * id: the referral tickets a backend signs verify only against its own keys.
   */
  readonly backendKeys: ReadonlyMap<string, KeyRing> | Readonly<Record<string, KeyRing>>;
  /** Per-pool switch (`createPoolPolicy` of `@handoff/tickets`). Without one every pool is seamless. */
  readonly pools?: PoolPolicy | undefined;
  /** Finds the target of a referral (default: the backend whose address is the referral's host and port). */
  readonly resolveTarget?: ((hostTo: Address, source: BackendRef) => BackendConfig | undefined) | undefined;
  /** Where by-reference ticket state is kept (shared with the backends); inline state needs none. */
  readonly stateStore?: TicketStateStore | undefined;
  /** Verifier bounds for referral tickets (defaults of `createTicketVerifier`: 60 s, 5 s, 500 ms). */
  readonly maxTtlSeconds?: number | undefined;
  readonly clockToleranceSeconds?: number | undefined;
  readonly replayTimeoutMs?: number | undefined;
  /** Clock in ms since the epoch (default `Date.now`). */
  readonly now?: (() => number) | undefined;
  readonly logger?: Logger | undefined;
}

/** What to issue a ticket for. */
export interface ProxyTicketInput {
  readonly clientUuid: ClientUuid;
  /** The backend the player joins (`aud`; its pool becomes the ticket's `pool`). */
  readonly target: BackendRef;
  readonly sessionId?: SessionId | undefined;
  /** Player state for the target (inline when it fits, else in `stateStore`). */
  readonly state?: Uint8Array | undefined;
}

/** Why a referral is forwarded to the client instead of becoming a seamless migration. */
export type ReferralForwardReason =
  /** The ClientReferral could not be decoded. */
  | 'malformed'
  /** It names no target host. */
  | 'no-target'
  /** It carries no data (no ticket). */
  | 'no-ticket'
  /** Its host and port are not a configured backend. */
  | 'unknown-target'
  /** It names the backend the player is on. */
  | 'same-backend'
  /** The referring backend has no public keys configured: its tickets cannot be verified. */
  | 'unknown-source'
  /** The target's pool is not seamless now (`poolStatus` has the pool policy's reason). */
  | 'pool-disabled'
  /** The ticket did not verify (`code`: the `ERR_TICKET_*` code). */
  | 'ticket-invalid'
  /** The replay store could not answer: fail closed (`code` is `ERR_TICKET_REPLAY_STORE_UNAVAILABLE`). */
  | 'replay-store-unavailable'
  /** The ticket's by-reference state could not be read. */
  | 'state-unavailable'
  /** The proxy could not issue the ticket for the target (`code`: the `ERR_TICKET_*` code). */
  | 'issue-failed';

/** What to do with a backend's ClientReferral. */
export type ReferralDecision = ReferralMigrate | ReferralForward;

/**
 * Migrate seamlessly to `target`. `ticket` (the fresh proxy ticket for the target, for
 * `MigrationRequest.ticket`) is a non-enumerable property: `JSON.stringify` and `util.inspect` leave
 * it out, so logging a decision never logs a ticket.
 */
export interface ReferralMigrate {
  readonly action: 'migrate';
  readonly source: BackendRef;
  readonly target: BackendConfig;
  /** The key id the referral ticket was signed with. */
  readonly kid: string;
  readonly ticket: string;
}

/** Forward the referral to the client unchanged (an ordinary referral: the client reconnects). */
export interface ReferralForward {
  readonly action: 'forward';
  readonly reason: ReferralForwardReason;
  /** The ticket error code (`ticket-invalid`, `replay-store-unavailable`, `state-unavailable`, `issue-failed`). */
  readonly code?: string | undefined;
  /** For `pool-disabled`: the pool policy's status. */
  readonly poolStatus?: PoolStatus | undefined;
  readonly source: BackendRef;
  /** The target, once resolved. */
  readonly target?: BackendRef | undefined;
  /** The referral's host and port (port 0–65535), when it had one. */
  readonly hostTo?: Address | undefined;
}

/** Where a referral came from. */
export interface ReferralContext {
  /** The player the referral is for (its ticket's `sub` must be this). */
  readonly clientUuid: ClientUuid;
  /** The backend that sent it (its ticket's `iss` must be this). */
  readonly source: BackendRef;
  /** The generation of the frame (the link's). */
  readonly generation: Generation;
  readonly sessionId?: SessionId | undefined;
  /** Bounds the waits on the replay and state stores (abort: fail closed). */
  readonly signal?: AbortSignal | undefined;
}

/** Monotonic counters (no secrets): for metrics. */
export interface TicketPolicyCounters {
  readonly issued: number;
  readonly issueFailures: number;
  readonly referralsMigrated: number;
  readonly referralsForwarded: number;
  readonly forwardedByReason: Readonly<Partial<Record<ReferralForwardReason, number>>>;
}

/** The proxy's ticket trust: issues tickets, decides referrals. */
export interface TicketPolicy {
  readonly proxyId: BackendId;
  /**
   * Issues a ticket for joining `target` (first join or migration), signed with the proxy's key.
   * @throws {ProxyError} `ERR_PROXY_TICKET_ISSUE_FAILED` (the cause is the `TicketError`), `ERR_PROXY_INVALID_ARGUMENT`.
   */
  issue(input: ProxyTicketInput, options?: { readonly signal?: AbortSignal | undefined }): Promise<string>;
  /** Whether seamless migration to `target` is allowed now (its pool's status; a backend without a pool is). */
  poolStatus(target: BackendRef): PoolStatus;
  /**
   * Decides a backend's `ClientReferral` (the frame as read from the backend). Never throws: every
   * failure is a `forward` decision with its reason, counted.
   */
  interceptReferral(referral: Frame, context: ReferralContext): Promise<ReferralDecision>;
  counters(): TicketPolicyCounters;
}

const SEAMLESS: PoolStatus = Object.freeze({ seamless: true });

/**
 * Creates the proxy's ticket policy.
 *
 * @example
 * ```ts
 * const tickets = createTicketPolicy({
 *   proxyId: 'proxy-1',
 *   keyRing: await loadKeys('./keys/proxy'),
 *   replayStore: createRedisReplayStore({ url: process.env.REDIS_URL! }),
 *   backends,
 *   backendKeys: { lobby: await loadKeys('./keys/lobby', { publicOnly: true }) },
 *   pools: createPoolPolicy({ keyRing, replayStore, requireSigningKey: true }),
 * });
 * const decision = await tickets.interceptReferral(frame, { clientUuid, source: link.backend, generation });
 * if (decision.action === 'migrate') await session.migrate(decision.target.ref, { ticket: decision.ticket, trigger: 'referral' });
 * else forwardToClient(frame); // an ordinary referral, `decision.reason` says why
 * ```
 */
export function createTicketPolicy(init: TicketPolicyInit): TicketPolicy {
  const invalid = (reason: string, message: string): ProxyError => new ProxyError('ERR_PROXY_INVALID_ARGUMENT', message, { reason });
  if (typeof init !== 'object' || init === null) throw invalid('init', 'createTicketPolicy needs its options');
  let proxyId: BackendId;
  try {
    proxyId = parseBackendId(init.proxyId);
  } catch (error) {
    throw new ProxyError('ERR_PROXY_INVALID_ARGUMENT', 'proxyId must be a backend id (the `iss` of the proxy tickets)', { reason: 'proxy-id', cause: error });
  }
  if (typeof init.replayStore?.consume !== 'function') throw invalid('replay-store', 'a ticket policy needs a replay store');
  if (typeof init.backends !== 'function' && !Array.isArray(init.backends)) throw invalid('backends', 'backends must be an array of BackendConfig or a function');
  const { logger, pools } = init;
  const now = init.now ?? Date.now;
  let issuer: TicketIssuer;
  try {
    issuer = createTicketIssuer({
      keyRing: init.keyRing,
      issuer: proxyId,
      now,
      ...(init.ttlSeconds === undefined ? {} : { ttlSeconds: init.ttlSeconds }),
      ...(init.stateStore === undefined ? {} : { stateStore: init.stateStore }),
      ...(logger === undefined ? {} : { logger }),
    });
  } catch (error) {
    throw new ProxyError('ERR_PROXY_INVALID_ARGUMENT', `the ticket issuer cannot be made: ${isTicketError(error) ? error.code : 'error'}`, {
      reason: 'issuer',
      cause: error,
    });
  }
  const keysOf = (id: string): KeyRing | undefined =>
    init.backendKeys instanceof Map ? init.backendKeys.get(id) : (init.backendKeys as Readonly<Record<string, KeyRing>>)[id];
  const verifiers = new Map<string, TicketVerifier>();
  const verifierOf = (id: BackendId): TicketVerifier | undefined => {
    let verifier = verifiers.get(id);
    if (verifier !== undefined) return verifier;
    const keyRing = keysOf(id);
    if (keyRing === undefined) return undefined;
    verifier = createTicketVerifier({
      keyRing,
      replayStore: init.replayStore,
      now,
      onReplayStoreUnavailable: () => pools?.requestProbe(),
      ...(init.maxTtlSeconds === undefined ? {} : { maxTtlSeconds: init.maxTtlSeconds }),
      ...(init.clockToleranceSeconds === undefined ? {} : { clockToleranceSeconds: init.clockToleranceSeconds }),
      ...(init.replayTimeoutMs === undefined ? {} : { replayTimeoutMs: init.replayTimeoutMs }),
      ...(logger === undefined ? {} : { logger }),
    });
    verifiers.set(id, verifier);
    return verifier;
  };
  const backendsNow = (): Iterable<BackendConfig> => (typeof init.backends === 'function' ? init.backends() : init.backends);
  const resolveTarget =
    init.resolveTarget ??
    ((hostTo: Address): BackendConfig | undefined => {
      const host = hostTo.host.toLowerCase();
      for (const config of backendsNow()) {
        if (config.address.port === hostTo.port && config.address.host.toLowerCase() === host) return config;
      }
      return undefined;
    });

  const counts = { issued: 0, issueFailures: 0, referralsMigrated: 0, referralsForwarded: 0 };
  const byReason: Partial<Record<ReferralForwardReason, number>> = {};

  const poolStatus = (target: BackendRef): PoolStatus => (pools === undefined || target.pool === undefined ? SEAMLESS : pools.status(target.pool));

  const issue = async (input: ProxyTicketInput, options: { readonly signal?: AbortSignal | undefined } = {}): Promise<string> => {
    if (typeof input !== 'object' || input === null || !isClientUuid(input.clientUuid)) {
      throw invalid('client-uuid', 'issue needs { clientUuid: ClientUuid, target: BackendRef }');
    }
    try {
      const token = await issuer.issue(
        {
          clientUuid: input.clientUuid,
          target: input.target.id,
          ...(input.target.pool === undefined ? {} : { pool: input.target.pool }),
          ...(input.sessionId === undefined ? {} : { sessionId: input.sessionId }),
          ...(input.state === undefined ? {} : { state: input.state }),
        },
        options,
      );
      counts.issued++;
      return token;
    } catch (error) {
      counts.issueFailures++;
      const code = isTicketError(error) ? error.code : 'error';
      logger?.warn?.({ target: input.target.id, code }, 'ticket not issued');
      throw new ProxyError('ERR_PROXY_TICKET_ISSUE_FAILED', `the proxy could not issue a ticket for ${input.target.id} (${code})`, {
        reason: code,
        cause: error,
      });
    }
  };

  const forward = (decision: Omit<ReferralForward, 'action'>): ReferralForward => {
    counts.referralsForwarded++;
    byReason[decision.reason] = (byReason[decision.reason] ?? 0) + 1;
    const level = decision.reason === 'replay-store-unavailable' || decision.reason === 'issue-failed' ? 'warn' : 'info';
    logger?.[level]?.(
      { source: decision.source.id, target: decision.target?.id, reason: decision.reason, code: decision.code },
      'referral forwarded to the client',
    );
    return Object.freeze({ action: 'forward', ...decision });
  };

  const interceptReferral = async (referral: Frame, context: ReferralContext): Promise<ReferralDecision> => {
    const { source, signal } = context;
    let hostTo: Address | undefined;
    let data: Uint8Array | null;
    try {
      const value = context.generation.packet('ClientReferral').decodeFrame(referral);
      hostTo = value.hostTo === null ? undefined : { host: value.hostTo.host, port: portFromWire(value.hostTo.port) };
      data = value.data;
    } catch (error) {
      return forward({ reason: 'malformed', code: isTicketError(error) ? error.code : (error as { code?: string }).code, source });
    }
    const base = { source, ...(hostTo === undefined ? {} : { hostTo }) };
    if (hostTo === undefined || hostTo.host.length === 0) return forward({ ...base, reason: 'no-target' });
    if (data === null || data.length === 0) return forward({ ...base, reason: 'no-ticket' });
    let target: BackendConfig | undefined;
    try {
      target = resolveTarget(hostTo, source);
    } catch {
      target = undefined;
    }
    if (target === undefined) return forward({ ...base, reason: 'unknown-target' });
    const withTarget = { ...base, target: target.ref };
    if (target.ref.id === source.id) return forward({ ...withTarget, reason: 'same-backend' });
    const verifier = verifierOf(source.id);
    if (verifier === undefined) return forward({ ...withTarget, reason: 'unknown-source' });
    // before the nonce is consumed: a referral forwarded unchanged must still carry a usable ticket
    const status = poolStatus(target.ref);
    if (!status.seamless) return forward({ ...withTarget, reason: 'pool-disabled', poolStatus: status });
    let verified;
    try {
      verified = await verifier.verify(data, { clientUuid: context.clientUuid, source: source.id, target: target.ref.id }, { signal });
    } catch (error) {
      const code = isTicketError(error) ? error.code : 'ERR_TICKET_MALFORMED';
      return forward({ ...withTarget, reason: code === 'ERR_TICKET_REPLAY_STORE_UNAVAILABLE' ? 'replay-store-unavailable' : 'ticket-invalid', code });
    }
    let state: Uint8Array | undefined;
    try {
      state = await loadTicketState(verified, { ...(init.stateStore === undefined ? {} : { store: init.stateStore }), ...(signal === undefined ? {} : { signal }) });
    } catch (error) {
      return forward({ ...withTarget, reason: 'state-unavailable', code: isTicketError(error) ? error.code : 'error' });
    }
    let ticket: string;
    try {
      ticket = await issue(
        { clientUuid: context.clientUuid, target: target.ref, sessionId: context.sessionId, ...(state === undefined ? {} : { state }) },
        { signal },
      );
    } catch (error) {
      const cause = (error as { cause?: unknown }).cause;
      return forward({ ...withTarget, reason: 'issue-failed', code: isTicketError(cause) ? cause.code : 'error' });
    }
    counts.referralsMigrated++;
    logger?.info?.({ source: source.id, target: target.ref.id, kid: verified.kid }, 'referral intercepted: seamless migration');
    const decision = { action: 'migrate' as const, source, target, kid: verified.kid };
    Object.defineProperty(decision, 'ticket', { value: ticket, enumerable: false });
    return Object.freeze(decision) as ReferralMigrate;
  };

  return {
    proxyId,
    issue,
    poolStatus,
    interceptReferral: async (referral, context) => {
      try {
        return await interceptReferral(referral, context);
      } catch (error) {
        // a resolver or store that throws something unexpected still yields a decision
        logger?.warn?.({ source: context?.source?.id, err: error instanceof Error ? error.name : 'error' }, 'referral decision failed');
        return forward({ source: context?.source, reason: 'malformed', code: 'internal' });
      }
    },
    counters: () => ({ ...counts, forwardedByReason: { ...byReason } }),
  };
}
