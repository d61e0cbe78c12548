/**
 * Every code `@handoff/proxy-kit` throws or reports (`docs/errors.md` is generated from this table).
 * Each part of the kit adds its codes to its own section; every code has a scenario in
 * `test/error-codes.test.ts`.
 */
import { HandoffError, isHandoffError, type HandoffErrorOptions } from '@handoff/types';

export const proxyKitErrorCodes = {
  // -- general
  ERR_PROXY_INVALID_ARGUMENT: 'an option or argument is invalid (the message names which): fix the call',
  ERR_PROXY_CLOSED: 'the proxy session (or the part called) is closed: nothing more can be done with it',
  // -- client side (the proxy as a Hytale server)
  ERR_PROXY_CLIENT_OUTDATED:
    'the client negotiated ALPN hytale/1 with a proxy of G2 or later: it was told "Your game client needs to be updated." and closed with code 5',
  ERR_PROXY_CLIENT_WRONG_GENERATION:
    'the client speaks a protocol generation the proxy does not accept (Connect hash or CRC): it was closed as the server closes it; accept that generation or update the client',
  ERR_PROXY_CLIENT_INVALID_CONNECT: 'the Connect carried a field the server refuses (the message says which): the client was disconnected with the server\'s reason',
  ERR_PROXY_CLIENT_AUTH_REFUSED:
    'client auth refused the client (`reason` names the check: no identity token, identity or access token, mutual authentication): it was disconnected with the server\'s reason',
  ERR_PROXY_CLIENT_SESSION_SERVICE:
    'the session service failed or refused the proxy (grant, token exchange, keys; `reason` says how): the client was disconnected; check the service URL, the proxy\'s session token and the network',
  ERR_PROXY_CLIENT_PASSWORD_REJECTED: 'the client failed the proxy\'s password challenge three times (or sent an empty answer): it was disconnected',
  ERR_PROXY_CLIENT_TIMEOUT: 'the client (or the session service) took too long in a handshake stage (`reason` names the stage): it was closed as the server closes it',
  ERR_PROXY_CLIENT_UNEXPECTED_PACKET: 'the client sent a packet its handshake stage does not take: it was closed as the server closes it',
  ERR_PROXY_CLIENT_MALFORMED: 'the client sent bytes the codec cannot read: it was closed as a protocol violation (`cause` is the codec\'s error)',
  ERR_PROXY_CLIENT_OVERSIZED: 'the client sent a frame longer than its packet\'s maximum: it was closed as a protocol violation',
  ERR_PROXY_CLIENT_RATE_LIMITED: 'the client sent more packets than the rate limit allows (burst 500, 2000 packets/s by default): it was closed with code 1',
  ERR_PROXY_CLIENT_LEFT: 'the client disconnected, ended its stream or lost its connection before its handshake completed',
  ERR_PROXY_CLIENT_ABORTED: 'the proxy aborted the handshake (its signal): the client was told the server is shutting down',
  ERR_PROXY_CLIENT_INTERNAL: 'the handshake failed in the kit itself (the cause says how, e.g. the session store refused the record): the client was told "Internal server error!"',
  // -- backend side (connector, tickets, setup driver)
  ERR_PROXY_BACKEND_CONNECT_FAILED: 'the backend could not be dialled, or its stream not opened (the cause says why; `reason`: dial, stream, aborted)',
  ERR_PROXY_BACKEND_CLOSED: 'the backend link ended while the call waited on it (its close code and reason are in the message)',
  ERR_PROXY_BACKEND_NO_CHANNEL: 'the backend does not carry this channel in its protocol generation (only G3 has Chunks and WorldMap)',
  ERR_PROXY_BACKEND_PROTOCOL: 'the backend sent bytes that are not a frame of its generation (the cause is the codec error): close it',
  ERR_PROXY_TICKET_ISSUE_FAILED: 'the proxy could not issue a ticket (no signing key for the pool, ticket too large…: the cause is the TicketError)',
  ERR_PROXY_SETUP_DISCONNECTED: "the backend sent Disconnect during the handshake or setup (e.g. it refused the ticket): its reason is in `backendReason`",
  ERR_PROXY_SETUP_REFERRED: 'the backend answered the handshake with a ClientReferral (a setup redirect) instead of setup',
  ERR_PROXY_SETUP_PASSWORD: 'the backend asked for a password that its config does not have (`reason` no-password), or rejected the configured one (`rejected`)',
  ERR_PROXY_SETUP_UNEXPECTED_PACKET: 'the backend sent a packet the setup sequence does not allow at that point (`reason` names it)',
  ERR_PROXY_SETUP_INCOMPATIBLE_ASSETS: "the pool's asset policy is 'require-identical' and the backend requires assets the client does not hold",
  ERR_PROXY_SETUP_INCOMPLETE_RECORD: 'the session record lacks what the setup driver replays (`reason`: no-connect, no-player-options, generation)',
  ERR_PROXY_SETUP_HOLD_LIMIT: "the frames held for the cutover outgrew the setup driver's byte limit (`maxHeldBytes`)",
  ERR_PROXY_SETUP_ABORTED: "the setup step was aborted by its signal (the migration's phase deadline): the cause is the signal's reason",
  // -- forwarding and the proxy session
  ERR_PROXY_UNKNOWN_BACKEND: 'a migration target (or failover target) that the session\'s backends do not list: pass a BackendRef of a configured backend',
  ERR_PROXY_HOOK_FAILED: 'a packet hook threw, or returned something that is not a decision or whole frames of the session\'s generation: the packet was dropped (`hook-failed`)',
  ERR_PROXY_BACKEND_LOST: 'the backend link ended under a migration step (B died after Freeze, or before its JoinWorld could be released): the step failed and the migration followed its rollback rule',
  ERR_PROXY_CLIENT_GONE: 'the client connection ended (or refused a stream) under a step that writes to it: the session ends',
  ERR_PROXY_DUPLICATE_SESSION: 'the session directory says another proxy holds this player: the new client was told "You are already logged in on that account!" and closed',
} as const;

export type ProxyErrorCode = keyof typeof proxyKitErrorCodes;

/** Options of a {@link ProxyError}. */
export interface ProxyErrorOptions extends HandoffErrorOptions {
  /** A short machine-readable detail (`'timeout'`, `'refused'`…). Never secret. */
  readonly reason?: string | undefined;
}

/** The typed error of `@handoff/proxy-kit`: a stable `code`, a message without secrets, `cause` where there is one. */
export class ProxyError extends HandoffError<ProxyErrorCode> {
  override readonly name = 'ProxyError';
  readonly reason: string | undefined;

  constructor(code: ProxyErrorCode, message: string = proxyKitErrorCodes[code], options: ProxyErrorOptions = {}) {
    super('proxy-kit', code, message, options);
    this.reason = options.reason;
  }
}

/** True when `value` is a {@link ProxyError} (of `code` when given), whichever installed copy of the package made it. */
export function isProxyError(value: unknown, code?: ProxyErrorCode): value is ProxyError {
  return isHandoffError(value, 'proxy-kit', code);
}
