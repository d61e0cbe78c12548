/**
 * A small client of the session service's server-join exchanges, as a Hytale server calls them (and,
 * inferred, as a client does for its half of mutual authentication). Works against the fake service
 * and has the shape of the real one. Errors never carry a token or a grant.
 */
import { TestkitError } from '../errors.js';
import { SESSION_SERVICE_PATHS } from './service.js';

/** A refused or failed call: the HTTP status and the service's error name, never a body secret. */
export class SessionServiceHttpError extends TestkitError<'ERR_TESTKIT_SESSION_SERVICE_HTTP'> {
  override readonly name = 'SessionServiceHttpError';
  /** The HTTP status, or `undefined` when no answer came (network error, abort). */
  readonly status: number | undefined;
  /** The service's error name (`invalid_grant`, `unauthorized`…), when it gave one. */
  readonly error: string | undefined;

  constructor(route: string, status: number | undefined, error: string | undefined, cause?: unknown) {
    super('ERR_TESTKIT_SESSION_SERVICE_HTTP', `${route}: ${status === undefined ? 'no answer' : `HTTP ${status}`}${error ? ` ${error}` : ''}`, { cause });
    this.status = status;
    this.error = error;
  }
}

/** `sessionServiceClient()` options. */
export interface SessionServiceClientInit {
  /** The service's base URL (`service.url` of the fake). */
  readonly url: string | URL;
  /** Per-request timeout, ms; default 10 000. */
  readonly timeoutMs?: number;
}

/** Options shared by both calls. */
export interface ExchangeOptions {
  /** The caller's session token (the Bearer). A secret: never logged. */
  readonly sessionToken: string;
  readonly signal?: AbortSignal;
}

/** The two server-join exchanges. */
export interface SessionServiceClient {
  readonly jwksUrl: URL;
  /** `POST /server-join/auth-grant`: a grant for the subject of `identityToken` to join `audience`. */
  requestAuthGrant(options: ExchangeOptions & { readonly identityToken: string; readonly audience: string }): Promise<string>;
  /** `POST /server-join/auth-token`: an access token bound to `certificateFingerprint`. */
  exchangeAuthGrant(options: ExchangeOptions & { readonly authorizationGrant: string; readonly certificateFingerprint: string }): Promise<string>;
}

/**
 * A client of a session service's exchanges.
 *
 * @example
 * ```ts
 * const sessions = sessionServiceClient({ url: service.url });
 * const grant = await sessions.requestAuthGrant({ identityToken, audience, sessionToken: server.sessionToken });
 * ```
 */
export function sessionServiceClient(init: SessionServiceClientInit): SessionServiceClient {
  let base: URL;
  try {
    base = new URL(String(init.url));
  } catch (error) {
    throw new TestkitError('ERR_TESTKIT_INVALID_ARGUMENT', 'url must be an absolute URL', { cause: error });
  }
  const timeoutMs = init.timeoutMs ?? 10_000;

  async function post(path: string, field: string, body: object, options: ExchangeOptions): Promise<string> {
    const signals = [AbortSignal.timeout(timeoutMs), ...(options.signal ? [options.signal] : [])];
    let response: Response;
    try {
      response = await fetch(new URL(path, base), {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${options.sessionToken}` },
        body: JSON.stringify(body),
        signal: AbortSignal.any(signals),
      });
    } catch (error) {
      const cause = new Error(error instanceof Error ? error.message : 'fetch failed');
      cause.name = error instanceof Error ? error.name : 'Error';
      throw new SessionServiceHttpError(path, undefined, undefined, cause);
    }
    let json: unknown;
    try {
      json = await response.json();
    } catch {
      json = undefined;
    }
    const record = typeof json === 'object' && json !== null ? (json as Record<string, unknown>) : {};
    if (!response.ok) throw new SessionServiceHttpError(path, response.status, typeof record['error'] === 'string' ? record['error'].slice(0, 64) : undefined);
    const value = record[field];
    if (typeof value !== 'string' || value.length === 0) throw new SessionServiceHttpError(path, response.status, `no ${field} in the answer`);
    return value;
  }

  return {
    jwksUrl: new URL(SESSION_SERVICE_PATHS.jwks, base),
    requestAuthGrant(options) {
      return post(SESSION_SERVICE_PATHS.authGrant, 'authorizationGrant', { identityToken: options.identityToken, aud: options.audience }, options);
    },
    exchangeAuthGrant(options) {
      return post(
        SESSION_SERVICE_PATHS.authToken,
        'accessToken',
        { authorizationGrant: options.authorizationGrant, x509Fingerprint: options.certificateFingerprint },
        options,
      );
    },
  };
}
