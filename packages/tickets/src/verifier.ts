/**
 * The ticket verifier. It runs every check in the documented order (docs/tickets.md §Verification)
 * and consumes the nonce last, so a ticket that fails any other check never burns its nonce.
 */
import { compactVerify, errors as joseErrors } from 'jose';
import { withDeadline } from '@handoff/store-kit';
import { isBackendId, isClientUuid, type BackendId, type ClientUuid, type Logger, type PoolId, type SessionId } from '@handoff/types';
import { TicketError, isTicketError, sanitizeCause } from './errors.js';
import { parseClaims, parseHeader, splitTicket, SIGNATURE_BYTES, decodeBase64urlStrict, type TicketClaims } from './format.js';
import { assertKeyRing, keyAllowsPool, resolveVerificationKey, type KeyRing } from './key-ring.js';
import { replayStoreUnavailable, type ReplayStore } from './replay-store.js';
import { mintVerifiedTicket, type TicketState, type VerifiedTicket } from './verified-ticket.js';

/** Construction options of {@link createTicketVerifier}. */
export interface TicketVerifierInit {
  readonly keyRing: KeyRing;
  readonly replayStore: ReplayStore;
  /** Longest accepted `exp − iat`, in seconds (default 60). */
  readonly maxTtlSeconds?: number | undefined;
  /** Accepted clock skew for `iat`, `exp` and key windows, in seconds (default 5). */
  readonly clockToleranceSeconds?: number | undefined;
  /** Longest wait on the replay store per verification, in ms (default 500); then fail closed. */
  readonly replayTimeoutMs?: number | undefined;
  /** Clock in ms since the epoch (default `Date.now`). */
  readonly now?: (() => number) | undefined;
  readonly logger?: Logger | undefined;
  /** Called (never awaited) when the replay store could not answer; e.g. `() => policy.requestProbe()`. */
  readonly onReplayStoreUnavailable?: ((error: TicketError) => void) | undefined;
}

/** What the ticket must be bound to. */
export interface VerifyExpectations {
  /** The UUID in the `Connect` the ticket arrived with. */
  readonly clientUuid: ClientUuid;
  /** The backend the player comes from (expected `iss`). */
  readonly source: BackendId;
  /** This backend, the one the player joins (expected `aud`). */
  readonly target: BackendId;
}

/** Per-call options of {@link TicketVerifier.verify}. */
export interface VerifyOptions {
  /** Aborts the wait on the replay store; the ticket is then refused (`ERR_TICKET_REPLAY_STORE_UNAVAILABLE`). */
  readonly signal?: AbortSignal | undefined;
}

/** Verifies migration tickets. */
export interface TicketVerifier {
  /**
   * Verifies `token` (the `Connect.referralData` text or bytes) and consumes its nonce.
   * @throws {TicketError} with one of the verification codes of docs/tickets.md.
   */
  verify(token: string | Uint8Array, expected: VerifyExpectations, options?: VerifyOptions): Promise<VerifiedTicket>;
}

function checkSeconds(value: number, name: string, min: number): number {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new TicketError('ERR_TICKET_INVALID_ARGUMENT', `${name} must be an integer ≥ ${min}`, { reason: name });
  }
  return value;
}

function stateOf(claims: TicketClaims): TicketState | undefined {
  const { st } = claims;
  if (st === undefined) return undefined;
  if ('in' in st) return Object.freeze({ kind: 'inline', bytes: new Uint8Array(Buffer.from(st.in, 'base64url')) });
  return Object.freeze({ kind: 'reference', ref: st.ref, length: st.len, sha256: st.sha256 });
}

/**
 * The replay-record lifetime: until the last instant this verifier accepts the ticket
 * (`exp + tolerance`, inclusive second), plus one more tolerance for verifiers whose clocks lag ours.
 */
export function replayTtlMs(exp: number, toleranceSeconds: number, nowMs: number): number {
  return Math.max(1, (exp + 2 * toleranceSeconds + 1) * 1000 - nowMs);
}

/** Creates a ticket verifier. */
export function createTicketVerifier(init: TicketVerifierInit): TicketVerifier {
  assertKeyRing(init.keyRing);
  const { keyRing, replayStore, logger, onReplayStoreUnavailable } = init;
  if (typeof replayStore?.consume !== 'function') {
    throw new TicketError('ERR_TICKET_INVALID_ARGUMENT', 'a verifier needs a replay store', { reason: 'replay-store' });
  }
  const maxTtl = checkSeconds(init.maxTtlSeconds ?? 60, 'maxTtlSeconds', 1);
  const tolerance = checkSeconds(init.clockToleranceSeconds ?? 5, 'clockToleranceSeconds', 0);
  const replayTimeoutMs = checkSeconds(init.replayTimeoutMs ?? 500, 'replayTimeoutMs', 1);
  const now = init.now ?? Date.now;

  async function verifyUnlogged(
    token: string | Uint8Array,
    expected: VerifyExpectations,
    options: VerifyOptions,
    seen: { kid?: string },
  ): Promise<VerifiedTicket> {
    if (
      typeof expected !== 'object' ||
      expected === null ||
      !isClientUuid(expected.clientUuid) ||
      !isBackendId(expected.source) ||
      !isBackendId(expected.target)
    ) {
      throw new TicketError('ERR_TICKET_INVALID_ARGUMENT', 'verify expectations must be { clientUuid: ClientUuid, source: BackendId, target: BackendId }', {
        reason: 'expectations',
      });
    }
    // 1–2. size and structure, header (malformed, then algorithm)
    const segments = splitTicket(token);
    const header = parseHeader(segments.header);
    seen.kid = header.kid;
    // 3. key by kid, inside its validity window
    const nowMs = now();
    const nowSeconds = Math.floor(nowMs / 1000);
    const key = resolveVerificationKey(keyRing, header.kid, nowMs, tolerance * 1000);
    // 4. the header algorithm must be the one configured for this kid (algorithm confusion)
    if (key.info.alg !== header.alg) {
      throw new TicketError('ERR_TICKET_ALG', 'ticket algorithm is not the one configured for its kid', { reason: 'kid-alg-mismatch' });
    }
    // 5. signature
    if ((decodeBase64urlStrict(segments.signature) as Buffer).length !== SIGNATURE_BYTES[header.alg]) {
      throw new TicketError('ERR_TICKET_SIGNATURE', 'ticket signature does not verify', { reason: 'length' });
    }
    let payload: Uint8Array;
    try {
      ({ payload } = await compactVerify(`${segments.header}.${segments.payload}.${segments.signature}`, key.key, {
        algorithms: [header.alg],
      }));
    } catch (error) {
      // jose's errors carry static messages and no token bytes; the cause keeps only name, message and code.
      const cause = sanitizeCause(error);
      if (error instanceof joseErrors.JWSSignatureVerificationFailed) {
        throw new TicketError('ERR_TICKET_SIGNATURE', 'ticket signature does not verify', { reason: 'signature', cause });
      }
      throw new TicketError('ERR_TICKET_MALFORMED', 'malformed ticket: jws', { reason: 'jws', cause });
    }
    // 6. claims (closed set, types)
    const claims = parseClaims(payload);
    // 7. key pool scope
    if (!keyAllowsPool(key.info, claims.pool)) {
      throw new TicketError('ERR_TICKET_KEY_UNKNOWN', 'the ticket key is not allowed for the ticket pool', { reason: 'pool' });
    }
    // 8. time
    if (claims.exp < nowSeconds - tolerance) throw new TicketError('ERR_TICKET_EXPIRED', 'ticket expired');
    if (claims.iat > nowSeconds + tolerance) throw new TicketError('ERR_TICKET_NOT_YET_VALID', 'ticket issued in the future');
    if (claims.exp - claims.iat > maxTtl) throw new TicketError('ERR_TICKET_TTL', 'ticket lifetime exceeds the maximum');
    // 9. bindings
    if (claims.sub !== expected.clientUuid) throw new TicketError('ERR_TICKET_CLIENT_MISMATCH', 'ticket was issued for another client');
    if (claims.iss !== expected.source) throw new TicketError('ERR_TICKET_SOURCE_MISMATCH', 'ticket was issued by another source backend');
    if (claims.aud !== expected.target) throw new TicketError('ERR_TICKET_TARGET_MISMATCH', 'ticket was issued for another target backend');
    // 10. single use: only now is the nonce consumed
    const ttlMs = replayTtlMs(claims.exp, tolerance, nowMs);
    let result: string;
    try {
      result = await withDeadline((signal) => replayStore.consume(claims.jti, { ttlMs, signal }), { timeoutMs: replayTimeoutMs, signal: options.signal }, (kind, reason) =>
        replayStoreUnavailable(kind, reason),
      );
    } catch (error) {
      const failure = isTicketError(error, 'ERR_TICKET_REPLAY_STORE_UNAVAILABLE') ? error : replayStoreUnavailable('error', error);
      try {
        onReplayStoreUnavailable?.(failure);
      } catch {
        // observers never change the outcome
      }
      throw failure;
    }
    if (result === 'replayed') throw new TicketError('ERR_TICKET_REPLAYED', 'ticket was already used');
    if (result !== 'fresh') throw replayStoreUnavailable('error', new Error('unexpected replay store result'));
    return mintVerifiedTicket({
      kid: header.kid,
      alg: header.alg,
      clientUuid: claims.sub as ClientUuid,
      source: claims.iss as BackendId,
      target: claims.aud as BackendId,
      issuedAt: claims.iat,
      expiresAt: claims.exp,
      pool: claims.pool as PoolId | undefined,
      sessionId: claims.sid as SessionId | undefined,
      state: stateOf(claims),
    });
  }

  return {
    async verify(token, expected, options = {}) {
      const seen: { kid?: string } = {};
      try {
        const ticket = await verifyUnlogged(token, expected, options, seen);
        logger?.debug?.({ kid: ticket.kid, pool: ticket.pool }, 'ticket verified');
        return ticket;
      } catch (error) {
        if (!isTicketError(error)) {
          // Defensive: an unexpected failure is still a refusal with a stable code, never a crash.
          const wrapped = new TicketError('ERR_TICKET_MALFORMED', 'malformed ticket', { reason: 'internal', cause: sanitizeCause(error) });
          logger?.warn?.({ code: wrapped.code, reason: wrapped.reason, kid: seen.kid }, 'ticket refused');
          throw wrapped;
        }
        const level = error.code === 'ERR_TICKET_REPLAY_STORE_UNAVAILABLE' ? 'warn' : 'debug';
        logger?.[level]?.({ code: error.code, reason: error.reason, kid: seen.kid }, 'ticket refused');
        throw error;
      }
    },
  };
}
