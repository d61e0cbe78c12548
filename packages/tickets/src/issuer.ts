/**
 * The ticket issuer: signs a ticket with the newest active signing key of its key ring, binding the
 * client, this (source) backend and the target backend. State goes inline when the whole ticket then
 * fits 4096 bytes, otherwise into the state store by reference (docs/tickets.md §State).
 */
import { randomBytes } from 'node:crypto';
import { CompactSign } from 'jose';
import { withDeadline } from '@handoff/store-kit';
import {
  isBackendId,
  isClientUuid,
  parseBackendId,
  parsePoolId,
  parseSessionId,
  type BackendId,
  type ClientUuid,
  type Logger,
  type PoolId,
  type SessionId,
} from '@handoff/types';
import { TicketError, isTicketError, parseArgument } from './errors.js';
import {
  MAX_TICKET_BYTES,
  NONCE_BYTES,
  base64url,
  compactLength,
  encodeClaims,
  encodeHeader,
  TICKET_TYP,
  type StateClaim,
  type TicketClaims,
} from './format.js';
import { assertKeyRing, selectSigningKey, type KeyRing } from './key-ring.js';
import { stateSha256, stateUnavailable, type TicketStateStore } from './state.js';

/** How state is carried: `auto` (inline if the ticket fits, else by reference), or forced. */
export type StateMode = 'auto' | 'inline' | 'reference';

/** Construction options of {@link createTicketIssuer}. */
export interface TicketIssuerInit {
  readonly keyRing: KeyRing;
  /** This (source) backend: the `iss` claim. */
  readonly issuer: BackendId;
  /** `exp − iat`, in seconds (default 30; must not exceed the verifiers' `maxTtlSeconds`). */
  readonly ttlSeconds?: number | undefined;
  /** Where state that does not fit inline goes. Without one, such state fails with `ERR_TICKET_TOO_LARGE`. */
  readonly stateStore?: TicketStateStore | undefined;
  /** By-reference state outlives the ticket by this much, in seconds (default 30). */
  readonly stateGraceSeconds?: number | undefined;
  /** Longest wait on the state store, in ms (default 1000). */
  readonly stateTimeoutMs?: number | undefined;
  /** Clock in ms since the epoch (default `Date.now`). */
  readonly now?: (() => number) | undefined;
  /** Random source (default `crypto.randomBytes`). Inject only for tests and test vectors. */
  readonly random?: ((size: number) => Uint8Array) | undefined;
  readonly logger?: Logger | undefined;
}

/** What to issue a ticket for. The issuer's own backend is the source (`iss`). */
export interface IssueInput {
  /** The player (`sub`). */
  readonly clientUuid: ClientUuid;
  /** The backend the player joins (`aud`). */
  readonly target: BackendId;
  /** The target's pool (`pool`); keys restricted to pools sign only tickets of their pools. */
  readonly pool?: PoolId | undefined;
  /** The proxy session id (`sid`). */
  readonly sessionId?: SessionId | undefined;
  /** Player state handed to the target backend. */
  readonly state?: Uint8Array | undefined;
  /** Default `auto`. */
  readonly stateMode?: StateMode | undefined;
}

/** Per-call options of {@link TicketIssuer.issue}. */
export interface IssueOptions {
  readonly signal?: AbortSignal | undefined;
}

/** Issues migration tickets. */
export interface TicketIssuer {
  readonly issuer: BackendId;
  /**
   * Signs a ticket and returns it (compact JWS, at most 4096 bytes).
   * @throws {TicketError} `ERR_TICKET_TOO_LARGE`, `ERR_TICKET_NO_SIGNING_KEY`,
   * `ERR_TICKET_STATE_UNAVAILABLE`, `ERR_TICKET_INVALID_ARGUMENT`.
   */
  issue(input: IssueInput, options?: IssueOptions): Promise<string>;
}

function invalid(reason: string, message: string): TicketError {
  return new TicketError('ERR_TICKET_INVALID_ARGUMENT', message, { reason });
}

/** Creates a ticket issuer. */
export function createTicketIssuer(init: TicketIssuerInit): TicketIssuer {
  assertKeyRing(init.keyRing);
  const { keyRing, stateStore, logger } = init;
  const issuer = parseArgument(parseBackendId, init.issuer, 'backend-id', 'issuer must be a BackendId (parseBackendId)');
  const ttl = init.ttlSeconds ?? 30;
  if (!Number.isSafeInteger(ttl) || ttl < 1 || ttl > 3600) throw invalid('ttlSeconds', 'ttlSeconds must be an integer in 1..3600');
  const graceSeconds = init.stateGraceSeconds ?? 30;
  if (!Number.isSafeInteger(graceSeconds) || graceSeconds < 0) throw invalid('stateGraceSeconds', 'stateGraceSeconds must be an integer ≥ 0');
  const stateTimeoutMs = init.stateTimeoutMs ?? 1_000;
  const now = init.now ?? Date.now;
  const random = init.random ?? ((size: number) => randomBytes(size));

  async function storeState(bytes: Uint8Array, signal: AbortSignal | undefined): Promise<StateClaim> {
    if (stateStore === undefined) throw invalid('no-state-store', 'state by reference needs a stateStore');
    let ref: string;
    try {
      ref = await withDeadline(
        (inner) => stateStore.put(bytes, { ttlMs: (ttl + graceSeconds) * 1000, signal: inner }),
        { timeoutMs: stateTimeoutMs, signal },
        (kind, reason) => stateUnavailable(kind, reason),
      );
    } catch (error) {
      if (isTicketError(error)) throw error;
      throw stateUnavailable('error', error);
    }
    return { ref, len: bytes.length, sha256: stateSha256(bytes) };
  }

  return {
    issuer,
    async issue(input, options = {}) {
      if (typeof input !== 'object' || input === null) throw invalid('input', 'invalid issue input');
      if (!isClientUuid(input.clientUuid)) throw invalid('client-uuid', 'clientUuid must be a ClientUuid (parseClientUuid)');
      if (!isBackendId(input.target)) throw invalid('backend-id', 'target must be a BackendId (parseBackendId)');
      const pool = input.pool === undefined ? undefined : parseArgument(parsePoolId, input.pool, 'pool-id', 'pool must be a PoolId (parsePoolId)');
      const sid =
        input.sessionId === undefined ? undefined : parseArgument(parseSessionId, input.sessionId, 'session-id', 'sessionId must be a SessionId (parseSessionId)');
      const mode = input.stateMode ?? 'auto';
      if (mode !== 'auto' && mode !== 'inline' && mode !== 'reference') throw invalid('state-mode', 'invalid stateMode');
      const { state } = input;
      if (state !== undefined && !(state instanceof Uint8Array)) throw invalid('state', 'state must be a Uint8Array');

      const nowMs = now();
      const iat = Math.floor(nowMs / 1000);
      const key = selectSigningKey(keyRing, nowMs, pool, ttl * 1000);
      if (key === undefined) {
        throw new TicketError('ERR_TICKET_NO_SIGNING_KEY', 'no signing key is active for this pool for the whole ticket lifetime');
      }
      const { alg, kid } = key.info;
      const nonce = random(NONCE_BYTES);
      if (!(nonce instanceof Uint8Array) || nonce.length !== NONCE_BYTES) throw invalid('random', 'random() must return the requested bytes');
      const base: TicketClaims = {
        iss: issuer,
        aud: input.target,
        sub: input.clientUuid,
        jti: base64url(nonce),
        iat,
        exp: iat + ttl,
        ...(pool === undefined ? {} : { pool }),
        ...(sid === undefined ? {} : { sid }),
      };
      const headerJson = encodeHeader({ alg, kid });
      const sizeOf = (claims: TicketClaims): number => compactLength(headerJson, encodeClaims(claims), alg);

      let claims = base;
      if (state !== undefined) {
        let st: StateClaim | undefined;
        if (mode !== 'reference') {
          const inline: TicketClaims = { ...base, st: { in: base64url(state) } };
          if (sizeOf(inline) <= MAX_TICKET_BYTES) st = inline.st;
          else if (mode === 'inline' || stateStore === undefined) {
            throw new TicketError('ERR_TICKET_TOO_LARGE', 'the ticket with inline state would exceed 4096 bytes: configure a stateStore', {
              reason: 'state-inline',
            });
          }
        }
        st ??= await storeState(state, options.signal);
        claims = { ...base, st };
      }
      const claimsJson = encodeClaims(claims);
      const expectedLength = compactLength(headerJson, claimsJson, alg);
      if (expectedLength > MAX_TICKET_BYTES) {
        throw new TicketError('ERR_TICKET_TOO_LARGE', 'the ticket would exceed 4096 bytes', { reason: 'claims' });
      }
      const token = await new CompactSign(new TextEncoder().encode(claimsJson)).setProtectedHeader({ alg, kid, typ: TICKET_TYP }).sign(key.key);
      if (token.length !== expectedLength) {
        // Would mean the header serialisation drifted from docs/tickets.md; never ship such a ticket.
        throw new TicketError('ERR_TICKET_MALFORMED', 'issued ticket does not match the canonical encoding', { reason: 'encoding' });
      }
      logger?.debug?.({ kid, pool, state: claims.st === undefined ? 'none' : 'in' in claims.st ? 'inline' : 'reference' }, 'ticket issued');
      return token;
    },
  };
}
