/**
 * The session service as the proxy's client auth uses it: the public keys that sign players' tokens
 * (a JWKS), and the two server-join exchanges a Hytale server makes while it authenticates a client
 * (docs/proxy-kit.md, "Client side › Client auth"). `httpSessionService` is the HTTP client of the
 * real service (or of any service with the same routes, such as the testkit's fake); anything that
 * satisfies {@link SessionServiceClient} plugs in instead.
 *
 * No token, grant or session token ever appears in an error, a log line or a serialised form of the
 * client: errors carry the route, the HTTP status and the service's short error name only.
 */
import type { JSONWebKeySet } from 'jose';
import type { Logger } from '@handoff/types';
import { ProxyError } from '../errors.js';

/** The Hytale session service's base URL, which servers call (and whose issuer they require). */
export const HYTALE_SESSION_SERVICE_URL = 'https://sessions.hytale.com';

/** The routes of the session service a server uses. */
export const SESSION_SERVICE_ROUTES = Object.freeze({
  jwks: '/.well-known/jwks.json',
  authGrant: '/server-join/auth-grant',
  authToken: '/server-join/auth-token',
});

/** Per-call options. */
export interface SessionServiceCallOptions {
  readonly signal?: AbortSignal | undefined;
}

/**
 * What client auth needs of a session service. Every method rejects with a {@link ProxyError}
 * `ERR_PROXY_CLIENT_SESSION_SERVICE` (or the signal's reason) and never puts a secret in it.
 */
export interface SessionServiceClient {
  /** The public keys that sign identity and access tokens. */
  fetchJwks(options?: SessionServiceCallOptions): Promise<JSONWebKeySet>;
  /**
   * `POST /server-join/auth-grant`: an authorization grant for the player named by `identityToken`
   * to join the server of `audience` (the grant goes to the client in `AuthGrant`).
   */
  requestAuthGrant(request: { readonly identityToken: string; readonly audience: string }, options?: SessionServiceCallOptions): Promise<string>;
  /**
   * `POST /server-join/auth-token`: exchanges the grant the client obtained for the proxy for the
   * proxy's own access token, bound to the proxy's certificate (`certificateFingerprint`).
   */
  exchangeAuthGrant(
    request: { readonly authorizationGrant: string; readonly certificateFingerprint: string },
    options?: SessionServiceCallOptions,
  ): Promise<string>;
}

/** `httpSessionService()` options. */
export interface HttpSessionServiceInit {
  /** The service's base URL; default {@link HYTALE_SESSION_SERVICE_URL}. */
  readonly url?: string | URL | undefined;
  /** The proxy's game-session token: the Bearer of the two exchanges. A secret: never logged. */
  readonly serverSessionToken: string;
  /** The fetch to use; default the global `fetch`. */
  readonly fetch?: typeof fetch | undefined;
  /** Per-request timeout, ms; default 10 000. */
  readonly timeoutMs?: number | undefined;
  /** Largest response body read, bytes; default 1 MiB (a larger answer is an invalid response). */
  readonly maxResponseBytes?: number | undefined;
  /** One debug line per request: route, status, duration. Never a body or a header. */
  readonly logger?: Logger | undefined;
}

const SAFE_ERROR_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

function invalid(message: string): ProxyError {
  return new ProxyError('ERR_PROXY_INVALID_ARGUMENT', message);
}

/** An error that keeps only the name and message of `error` (fetch errors can nest anything). */
function sanitised(error: unknown): Error {
  const safe = new Error(error instanceof Error ? error.message : 'request failed');
  safe.name = error instanceof Error ? error.name : 'Error';
  return safe;
}

async function readBounded(response: Response, limit: number): Promise<string | undefined> {
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > limit) {
    await response.body?.cancel().catch(() => {});
    return undefined;
  }
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * A session-service client over HTTP (the global `fetch` unless one is given): `GET
 * /.well-known/jwks.json`, `POST /server-join/auth-grant` and `POST /server-join/auth-token`, each with
 * the proxy's session token as Bearer.
 *
 * @example
 * ```ts
 * const sessionService = httpSessionService({ serverSessionToken: process.env.HYTALE_SERVER_SESSION_TOKEN! });
 * const auth = sessionServiceAuth({ sessionService, audience, serverIdentityToken, serverCertificateFingerprint });
 * ```
 */
export function httpSessionService(init: HttpSessionServiceInit): SessionServiceClient {
  let base: URL;
  try {
    base = new URL(String(init?.url ?? HYTALE_SESSION_SERVICE_URL));
  } catch (error) {
    throw new ProxyError('ERR_PROXY_INVALID_ARGUMENT', 'url must be an absolute URL', { cause: sanitised(error) });
  }
  if (base.protocol !== 'https:' && base.protocol !== 'http:') throw invalid('url must be an http(s) URL');
  const sessionToken = init.serverSessionToken;
  if (typeof sessionToken !== 'string' || sessionToken.length === 0 || /[\r\n]/.test(sessionToken)) {
    throw invalid('serverSessionToken must be a non-empty string (the proxy\'s game-session token)');
  }
  const doFetch = init.fetch ?? globalThis.fetch;
  if (typeof doFetch !== 'function') throw invalid('fetch must be a function (no global fetch is available)');
  const timeoutMs = init.timeoutMs ?? 10_000;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw invalid('timeoutMs must be a positive number');
  const maxBytes = init.maxResponseBytes ?? 1 << 20;
  if (!Number.isInteger(maxBytes) || maxBytes <= 0) throw invalid('maxResponseBytes must be a positive integer');
  const logger = init.logger;

  async function call(route: keyof typeof SESSION_SERVICE_ROUTES, body: object | undefined, options: SessionServiceCallOptions): Promise<Record<string, unknown>> {
    const path = SESSION_SERVICE_ROUTES[route];
    options.signal?.throwIfAborted();
    const signal = options.signal ? AbortSignal.any([AbortSignal.timeout(timeoutMs), options.signal]) : AbortSignal.timeout(timeoutMs);
    const started = Date.now();
    let response: Response;
    try {
      response = await doFetch(new URL(path, base), {
        method: body === undefined ? 'GET' : 'POST',
        headers:
          body === undefined
            ? { accept: 'application/json' }
            : { accept: 'application/json', 'content-type': 'application/json', authorization: `Bearer ${sessionToken}` },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal,
        redirect: 'error',
      });
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      const timedOut = signal.aborted;
      logger?.debug?.({ route: path, outcome: timedOut ? 'timeout' : 'network' }, 'session service request failed');
      throw new ProxyError('ERR_PROXY_CLIENT_SESSION_SERVICE', `${path}: ${timedOut ? `no answer within ${timeoutMs} ms` : 'no answer (network)'}`, {
        reason: timedOut ? 'timeout' : 'network',
        cause: sanitised(error),
      });
    }
    let text: string | undefined;
    try {
      text = await readBounded(response, maxBytes);
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      throw new ProxyError('ERR_PROXY_CLIENT_SESSION_SERVICE', `${path}: the answer could not be read`, { reason: 'network', cause: sanitised(error) });
    }
    let json: unknown;
    try {
      json = text === undefined ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    const record = typeof json === 'object' && json !== null && !Array.isArray(json) ? (json as Record<string, unknown>) : undefined;
    logger?.debug?.({ route: path, status: response.status, ms: Date.now() - started }, 'session service request');
    if (!response.ok) {
      const name = typeof record?.['error'] === 'string' && SAFE_ERROR_NAME.test(record['error']) ? record['error'] : undefined;
      throw new ProxyError('ERR_PROXY_CLIENT_SESSION_SERVICE', `${path}: HTTP ${response.status}${name ? ` ${name}` : ''}`, { reason: `http-${response.status}` });
    }
    if (record === undefined) {
      throw new ProxyError('ERR_PROXY_CLIENT_SESSION_SERVICE', `${path}: the answer is not a JSON object${text === undefined ? ` of at most ${maxBytes} bytes` : ''}`, {
        reason: 'invalid-response',
      });
    }
    return record;
  }

  function field(record: Record<string, unknown>, route: keyof typeof SESSION_SERVICE_ROUTES, name: string): string {
    const value = record[name];
    if (typeof value !== 'string' || value.length === 0) {
      throw new ProxyError('ERR_PROXY_CLIENT_SESSION_SERVICE', `${SESSION_SERVICE_ROUTES[route]}: no ${name} in the answer`, { reason: 'invalid-response' });
    }
    return value;
  }

  return Object.freeze({
    async fetchJwks(options: SessionServiceCallOptions = {}): Promise<JSONWebKeySet> {
      const record = await call('jwks', undefined, options);
      if (!Array.isArray(record['keys'])) {
        throw new ProxyError('ERR_PROXY_CLIENT_SESSION_SERVICE', `${SESSION_SERVICE_ROUTES.jwks}: the answer is not a JSON Web Key Set`, { reason: 'invalid-response' });
      }
      return record as unknown as JSONWebKeySet;
    },
    async requestAuthGrant(request: { readonly identityToken: string; readonly audience: string }, options: SessionServiceCallOptions = {}): Promise<string> {
      const record = await call('authGrant', { identityToken: request.identityToken, aud: request.audience }, options);
      return field(record, 'authGrant', 'authorizationGrant');
    },
    async exchangeAuthGrant(
      request: { readonly authorizationGrant: string; readonly certificateFingerprint: string },
      options: SessionServiceCallOptions = {},
    ): Promise<string> {
      const record = await call('authToken', { authorizationGrant: request.authorizationGrant, x509Fingerprint: request.certificateFingerprint }, options);
      return field(record, 'authToken', 'accessToken');
    },
  });
}
