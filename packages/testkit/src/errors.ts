/**
 * Error codes of `@handoff/testkit`. Every error this package throws is a {@link TestkitError} carrying
 * one of these stable `code`s; `cause` is kept where there is one (sanitised: never a token, a grant or
 * key material). A strict client's violations are not errors: they are reported in its violation list.
 */
import { HandoffError, isHandoffError, type HandoffErrorOptions } from '@handoff/types';

export const testkitErrorCodes = {
  ERR_TESTKIT_INVALID_ARGUMENT: 'an option or argument of a testkit API is invalid (address, id, generation, count): fix the call',
  ERR_TESTKIT_ABORTED: 'the call was aborted through its signal before it finished',

  // strict client
  ERR_TESTKIT_CLIENT_CLOSED:
    'the strict client could not connect, or ended (closed by the test, closed by its peer, or failed) before the awaited state was reached: read its report for why',
  ERR_TESTKIT_CLIENT_STATE: 'the strict client was asked for something its current state does not allow (e.g. start twice, move before entering a world)',

  // fake session service
  ERR_TESTKIT_SESSION_SERVICE_LISTEN: 'the fake session service could not listen on the given loopback address (port in use, not a loopback host)',
  ERR_TESTKIT_SESSION_SERVICE_HTTP:
    'a call to a session service answered with an HTTP error or an unreadable body: the status and error name are in the message, never the tokens',

  // simulated backend
  ERR_TESTKIT_UNKNOWN_PLAYER:
    'the player named in a call (a handle or a client UUID) is not connected to this simulated backend, or never was: look it up again with backend.player()',
  ERR_TESTKIT_PLAYER_STATE:
    'the simulated backend was asked for something the player\'s stage does not allow (a referral before its Connect): wait for the right event first',
  ERR_TESTKIT_BACKEND_CLOSED: 'the simulated backend was closed (or crashed): nothing more can be sent through it; start a new one',
  ERR_TESTKIT_TIMEOUT: 'a wait on a simulated peer (for an event) ended before what it waited for happened: read the player event log for what happened instead',

  // token verification (the server's checks on a client's identity and access tokens)
  ERR_TESTKIT_TOKEN_MALFORMED: 'the token is not a compact JWS of three parts with an 80 to 90 character signature, or its header or claims are not JSON: refuse it',
  ERR_TESTKIT_TOKEN_ALGORITHM: 'the token is not signed with EdDSA (Ed25519), the only algorithm the server accepts: refuse it',
  ERR_TESTKIT_TOKEN_UNKNOWN_KEY: 'no key of the JWKS has the kid of the token (or the JWKS could not be fetched): refuse it, refresh the JWKS if keys rotated',
  ERR_TESTKIT_TOKEN_SIGNATURE: 'the token signature does not verify against the JWKS key of its kid: refuse it (tampered, or signed by another key)',
  ERR_TESTKIT_TOKEN_ISSUER: 'the token iss is not the session service issuer: refuse it',
  ERR_TESTKIT_TOKEN_EXPIRED: 'the token exp is more than the clock tolerance (300 s) in the past, or it has no exp: refuse it; the client must fetch a new one',
  ERR_TESTKIT_TOKEN_NOT_YET_VALID: 'the token nbf or iat is more than the clock tolerance (300 s) in the future: refuse it; check clocks',
  ERR_TESTKIT_TOKEN_SUBJECT: 'the token sub is not a UUID, or not the UUID the client sent in Connect: refuse it',
  ERR_TESTKIT_TOKEN_SCOPE: 'the identity token scope is not hytale:client (hytale:editor for an editor client): refuse it',
  ERR_TESTKIT_TOKEN_AUDIENCE: 'the access token aud (its first element) is not this server audience: refuse it (a token issued for another server)',
  ERR_TESTKIT_TOKEN_USERNAME: 'the access token username is not the username the client sent in Connect: refuse it',
  ERR_TESTKIT_TOKEN_BINDING:
    'the access token has no cnf.x5t#S256, or it is not the SHA-256 of the certificate the client presented on this connection: refuse it (replayed or stolen token)',
} as const;

/** A stable error code of `@handoff/testkit`. */
export type TestkitErrorCode = keyof typeof testkitErrorCodes;

/** The typed error of `@handoff/testkit`. Its message, fields and cause never contain a token, grant or key. */
export class TestkitError<Code extends TestkitErrorCode = TestkitErrorCode> extends HandoffError<Code> {
  override readonly name: string = 'TestkitError';

  constructor(code: Code, message: string = testkitErrorCodes[code], options: HandoffErrorOptions = {}) {
    super('testkit', code, message, options);
  }
}

/** True when `value` is a {@link TestkitError} (of `code` when given), whichever copy of this package made it. */
export function isTestkitError(value: unknown, code?: TestkitErrorCode): value is TestkitError {
  return isHandoffError(value, 'testkit', code);
}
