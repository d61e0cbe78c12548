/**
 * The fake session service: an HTTP server on loopback that stands in for the Hytale session
 * service in tests. It serves its JWKS, answers the two server-join exchanges, mints EdDSA identity
 * and access tokens shaped like the real ones, and can be told to mint faulty tokens or to fail a
 * request on purpose. Behaviour and evidence: docs/testkit.md § Fake session service.
 *
 * Built on `node:http`: four routes on loopback need no router, and owning the status codes, headers
 * and body limits outright is the point of a fake.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JSONWebKeySet } from 'jose';
import { parseClientUuid, type ClientUuid, type Logger } from '@handoff/types';
import { TestkitError } from '../errors.js';
import { PlayerCredentials, ServerCredentials } from './credentials.js';
import {
  CLIENT_SCOPE,
  EDITOR_SCOPE,
  HYTALE_SESSION_ISSUER,
  SERVER_SCOPE,
  createSigningKey,
  jwksOf,
  mintAccessToken,
  mintIdentityToken,
  opaqueSecret,
  type MintContext,
  type SigningKey,
  type TokenFault,
} from './tokens.js';
import { isTokenError, verifyCommon } from './verify.js';

/** The service's routes. */
export const SESSION_SERVICE_PATHS = Object.freeze({
  jwks: '/.well-known/jwks.json',
  authGrant: '/server-join/auth-grant',
  authToken: '/server-join/auth-token',
});

/** A route name, for {@link SessionService.failNext} and the request log. */
export type SessionServiceRoute = keyof typeof SESSION_SERVICE_PATHS;

/** `createSessionService()` options. */
export interface SessionServiceInit {
  /** A loopback host (`127.0.0.1` by default, `::1`, `localhost`); anything else is refused. */
  readonly host?: string;
  /** Port; default 0 (an ephemeral port: read {@link SessionService.url}). */
  readonly port?: number;
  /** The `iss` of every token; default `https://sessions.hytale.com`, what servers require. */
  readonly issuer?: string;
  /** Lifetime of identity and access tokens, seconds; default 3600. */
  readonly tokenTtlSeconds?: number;
  /** How long an authorization grant may wait to be exchanged, seconds; default 30. */
  readonly grantTtlSeconds?: number;
  /** Largest request body, bytes; default 65536 (larger → 413). */
  readonly maxBodyBytes?: number;
  /** The clock, milliseconds since the epoch; default `Date.now`. */
  readonly now?: () => number;
  /** Receives one debug line per request: method, route, status. Never a body or a header. */
  readonly logger?: Logger;
}

/** Options of {@link SessionService.createPlayer}. */
export interface CreatePlayerOptions {
  readonly clientUuid: ClientUuid | string;
  /** 1–16 ASCII characters, as `Connect.username` allows. */
  readonly username: string;
  /** `'Game'` (scope `hytale:client`, default) or `'Editor'` (scope `hytale:editor`). */
  readonly clientType?: 'Game' | 'Editor';
  /** Mint the identity token with this defect. */
  readonly identityFault?: TokenFault;
}

/** Options of {@link SessionService.createServer}. */
export interface CreateServerOptions {
  /** The audience its clients' access tokens carry; default a random UUID (as a server without a configured audience). */
  readonly audience?: string;
}

/** Options of {@link SessionService.mintAccessToken}. */
export interface MintAccessTokenOptions {
  readonly clientUuid: ClientUuid | string;
  readonly username: string;
  readonly audience: string;
  readonly certificateFingerprint: string;
  readonly fault?: TokenFault;
}

/** One request, as the service logs it: no body, no header. */
export interface SessionServiceRequest {
  readonly method: string;
  /** The route, or the raw path's first 64 characters when it matched none. */
  readonly path: string;
  readonly status: number;
  /** The error name of a refused request (`invalid_grant`, `unauthorized`…). */
  readonly error?: string;
}

/** What the service has done. */
export interface SessionServiceCounters {
  readonly requests: number;
  readonly refused: number;
  readonly grantsIssued: number;
  readonly accessTokensIssued: number;
  readonly identityTokensIssued: number;
}

/** A running fake session service. */
export interface SessionService {
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  /** The JWKS URL (`/.well-known/jwks.json`). */
  readonly jwksUrl: URL;
  readonly issuer: string;
  /** The public JWKS (what `GET /.well-known/jwks.json` answers). */
  jwks(): JSONWebKeySet;
  /** A player's credentials: a fresh identity token (optionally faulty) and session token. */
  createPlayer(options: CreatePlayerOptions): Promise<PlayerCredentials>;
  /** A server's (or proxy's) credentials: identity token, session token, audience. */
  createServer(options?: CreateServerOptions): Promise<ServerCredentials>;
  /** Mints an identity token directly (for verifier tests). */
  mintIdentityToken(options: CreatePlayerOptions): Promise<string>;
  /** Mints an access token directly (for verifier tests), as `POST /server-join/auth-token` would. */
  mintAccessToken(options: MintAccessTokenOptions): Promise<string>;
  /** The next access token the auth-token exchange mints carries `fault` (one shot, queued in order). */
  tamperNext(fault: TokenFault): void;
  /** The next request to `route` fails with `status` (default 503), before any other check (one shot). */
  failNext(route: SessionServiceRoute, status?: number): void;
  /** Every request so far (method, route, status), oldest first. */
  readonly requests: readonly SessionServiceRequest[];
  readonly counters: SessionServiceCounters;
  /** Stops listening and ends open connections. Idempotent. */
  close(): Promise<void>;
}

interface Session {
  readonly subject: string;
  readonly username: string;
}

interface Grant {
  readonly subject: string;
  readonly username: string;
  readonly audience: string;
  readonly expiresAt: number;
}

class HttpRefusal extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const USERNAME = /^[\x21-\x7e]{1,16}$/;
const FINGERPRINT = /^[A-Za-z0-9_-]{43}$/;
/** Beyond this many bytes a request over the body limit is cut off rather than drained. */
const DRAIN_LIMIT = 1 << 20;

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function invalid(message: string): TestkitError {
  return new TestkitError('ERR_TESTKIT_INVALID_ARGUMENT', message);
}

function positiveInteger(value: number | undefined, fallback: number, name: string): number {
  const n = value ?? fallback;
  if (!Number.isInteger(n) || n <= 0) throw invalid(`${name} must be a positive integer`);
  return n;
}

/**
 * Starts a fake session service on loopback.
 *
 * @example
 * ```ts
 * const service = await createSessionService();
 * const player = await service.createPlayer({ clientUuid, username: 'Alice' });
 * const server = await service.createServer();
 * // a server asks for a grant for the player, the player exchanges it for an access token
 * // bound to its certificate; tokens verify against service.jwksUrl with verifyClientTokens()
 * await service.close();
 * ```
 */
export async function createSessionService(init: SessionServiceInit = {}): Promise<SessionService> {
  const host = init.host ?? '127.0.0.1';
  if (typeof host !== 'string' || !isLoopbackHost(host)) throw invalid('the fake session service listens on loopback only (127.0.0.0/8, ::1, localhost)');
  const port = init.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw invalid('port must be an integer from 0 to 65535');
  const issuer = init.issuer ?? HYTALE_SESSION_ISSUER;
  const ttl = positiveInteger(init.tokenTtlSeconds, 3600, 'tokenTtlSeconds');
  const grantTtl = positiveInteger(init.grantTtlSeconds, 30, 'grantTtlSeconds');
  const maxBody = positiveInteger(init.maxBodyBytes, 65536, 'maxBodyBytes');
  const clock = init.now ?? Date.now;
  const logger = init.logger;

  const key: SigningKey = await createSigningKey();
  const rogueKey: SigningKey = await createSigningKey();
  const jwks = jwksOf([key]);
  const sessions = new Map<string, Session>();
  const grants = new Map<string, Grant>();
  const tamper: TokenFault[] = [];
  const failures = new Map<SessionServiceRoute, number[]>();
  const requests: SessionServiceRequest[] = [];
  const counters = { requests: 0, refused: 0, grantsIssued: 0, accessTokensIssued: 0, identityTokensIssued: 0 };

  const context = (): MintContext => ({ issuer, key, rogueKey, now: Math.floor(clock() / 1000), ttlSeconds: ttl });

  async function identityFor(options: CreatePlayerOptions): Promise<{ clientUuid: ClientUuid; token: string }> {
    let clientUuid: ClientUuid;
    try {
      clientUuid = parseClientUuid(options.clientUuid);
    } catch (error) {
      throw new TestkitError('ERR_TESTKIT_INVALID_ARGUMENT', 'clientUuid is not a UUID', { cause: error });
    }
    if (typeof options.username !== 'string' || !USERNAME.test(options.username)) throw invalid('username must be 1 to 16 printable ASCII characters');
    const scope = options.clientType === 'Editor' ? EDITOR_SCOPE : CLIENT_SCOPE;
    const token = await mintIdentityToken({ subject: clientUuid, username: options.username, scope }, context(), options.identityFault);
    counters.identityTokensIssued += 1;
    return { clientUuid, token };
  }

  // ------------------------------------------------------------------ HTTP

  function routeOf(pathname: string): SessionServiceRoute | undefined {
    for (const [route, path] of Object.entries(SESSION_SERVICE_PATHS)) if (path === pathname) return route as SessionServiceRoute;
    return undefined;
  }

  function bearer(req: IncomingMessage): Session {
    const header = req.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(header) : null;
    const unauthorized = { 'www-authenticate': 'Bearer realm="sessions"' };
    if (!match) throw new HttpRefusal(401, 'unauthorized', 'a Bearer session token is required', unauthorized);
    const session = sessions.get(match[1]!);
    if (!session) throw new HttpRefusal(401, 'invalid_token', 'the session token is unknown or revoked', { 'www-authenticate': 'Bearer realm="sessions", error="invalid_token"' });
    return session;
  }

  async function jsonBody(req: IncomingMessage): Promise<Record<string, unknown>> {
    const type = req.headers['content-type'] ?? '';
    if (!/^application\/json\s*(;|$)/i.test(type)) throw new HttpRefusal(415, 'unsupported_media_type', 'the body must be application/json');
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBody) {
        tooLarge = true;
        if (size > DRAIN_LIMIT) break; // stop reading; the connection is closed after the answer
        continue;
      }
      chunks.push(chunk);
    }
    if (tooLarge) throw new HttpRefusal(413, 'payload_too_large', `the body exceeds ${maxBody} bytes`, { connection: 'close' });
    let value: unknown;
    try {
      value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      throw new HttpRefusal(400, 'invalid_request', 'the body is not JSON');
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpRefusal(400, 'invalid_request', 'the body must be a JSON object');
    return value as Record<string, unknown>;
  }

  function stringField(body: Record<string, unknown>, name: string, max: number): string {
    const value = body[name];
    if (typeof value !== 'string' || value.length === 0) throw new HttpRefusal(400, 'invalid_request', `${name} is required`);
    if (value.length > max) throw new HttpRefusal(400, 'invalid_request', `${name} is too long`);
    return value;
  }

  /** `POST /server-join/auth-grant` `{ identityToken, aud }`: a grant for the token's subject to join `aud`. */
  async function authGrant(req: IncomingMessage): Promise<object> {
    bearer(req);
    const body = await jsonBody(req);
    const identityToken = stringField(body, 'identityToken', 8192);
    const audience = stringField(body, 'aud', 256);
    const subject = await subjectOfIdentity(identityToken);
    const grant = opaqueSecret();
    grants.set(grant, { subject: subject.subject, username: subject.username, audience, expiresAt: clock() + grantTtl * 1000 });
    counters.grantsIssued += 1;
    return { authorizationGrant: grant };
  }

  async function subjectOfIdentity(token: string): Promise<{ subject: string; username: string }> {
    // the service checks what it issued (signature, issuer, times, a UUID subject), for any scope:
    // a server asks for its player's grant, a player for its server's
    try {
      const claims = await verifyCommon(token, 'identity', { jwks, issuer, now: new Date(clock()) });
      const profile = claims['profile'] as { username?: unknown } | undefined;
      return { subject: (claims['sub'] as string).toLowerCase(), username: typeof profile?.username === 'string' ? profile.username : '' };
    } catch (error) {
      const reason = isTokenError(error) ? error.code.slice('ERR_TESTKIT_TOKEN_'.length).toLowerCase() : 'malformed';
      throw new HttpRefusal(403, 'invalid_identity_token', `the identity token is refused (${reason})`);
    }
  }

  /** `POST /server-join/auth-token` `{ authorizationGrant, x509Fingerprint }`: a certificate-bound access token. */
  async function authToken(req: IncomingMessage): Promise<object> {
    const session = bearer(req);
    const body = await jsonBody(req);
    const grantValue = stringField(body, 'authorizationGrant', 4096);
    const fingerprint = stringField(body, 'x509Fingerprint', 64);
    if (!FINGERPRINT.test(fingerprint)) throw new HttpRefusal(400, 'invalid_request', 'x509Fingerprint must be a SHA-256 in base64url without padding');
    const grant = grants.get(grantValue);
    if (!grant) throw new HttpRefusal(400, 'invalid_grant', 'the authorization grant is unknown or was already used');
    grants.delete(grantValue); // single use, whatever happens next
    if (grant.expiresAt < clock()) throw new HttpRefusal(400, 'invalid_grant', 'the authorization grant expired');
    if (grant.subject !== session.subject) throw new HttpRefusal(403, 'forbidden', 'the grant was issued to another subject than this session');
    const fault = tamper.shift();
    const ip = req.socket.remoteAddress?.replace(/^::ffff:/, '');
    const accessToken = await mintAccessToken(
      { subject: grant.subject, username: grant.username, audience: grant.audience, certificateFingerprint: fingerprint, ...(ip ? { ip } : {}) },
      context(),
      fault,
    );
    counters.accessTokensIssued += 1;
    return { accessToken };
  }

  function send(res: ServerResponse, status: number, body: object, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
    res.end(text);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    counters.requests += 1;
    const method = req.method ?? 'GET';
    let pathname: string;
    try {
      pathname = new URL(req.url ?? '/', 'http://service.invalid').pathname;
    } catch {
      pathname = '/';
    }
    const route = routeOf(pathname);
    const record = (status: number, error?: string): void => {
      requests.push({ method, path: route ? SESSION_SERVICE_PATHS[route] : pathname.slice(0, 64), status, ...(error ? { error } : {}) });
      logger?.debug?.({ method, route: route ?? 'unknown', status, ...(error ? { error } : {}) }, 'session service request');
    };
    try {
      if (!route) throw new HttpRefusal(404, 'not_found', 'no such endpoint');
      const allowed = route === 'jwks' ? ['GET', 'HEAD'] : ['POST'];
      if (!allowed.includes(method)) throw new HttpRefusal(405, 'method_not_allowed', `use ${allowed.join(' or ')}`, { allow: allowed.join(', ') });
      const failure = failures.get(route)?.shift();
      if (failure !== undefined) throw new HttpRefusal(failure, failure === 503 ? 'service_unavailable' : 'injected_failure', 'failure injected by the test');
      let body: object;
      let headers: Record<string, string> = {};
      if (route === 'jwks') {
        body = jwks;
        headers = { 'cache-control': 'public, max-age=3600' };
      } else if (route === 'authGrant') {
        body = await authGrant(req);
      } else {
        body = await authToken(req);
      }
      send(res, 200, body, headers);
      record(200);
    } catch (error) {
      const refusal = error instanceof HttpRefusal ? error : new HttpRefusal(500, 'internal_error', 'the service failed');
      counters.refused += 1;
      if (!req.readableEnded && refusal.headers['connection'] === undefined) req.resume(); // drain an unread body
      send(res, refusal.status, { error: refusal.error, message: refusal.message }, refusal.headers);
      record(refusal.status, refusal.error);
    }
  }

  const server: Server = createServer((req, res) => void handle(req, res));
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void => {
      reject(new TestkitError('ERR_TESTKIT_SESSION_SERVICE_LISTEN', `cannot listen on ${host}:${port}: ${(error as NodeJS.ErrnoException).code ?? error.message}`, { cause: error }));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const hostPart = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${hostPart}:${address.port}`;
  let closing: Promise<void> | undefined;

  return {
    url,
    jwksUrl: new URL(SESSION_SERVICE_PATHS.jwks, url),
    issuer,
    jwks: () => structuredClone(jwks),
    async createPlayer(options) {
      const { clientUuid, token } = await identityFor(options);
      const sessionToken = opaqueSecret();
      sessions.set(sessionToken, { subject: clientUuid, username: options.username });
      return new PlayerCredentials(clientUuid, options.username, token, sessionToken);
    },
    async createServer(options = {}) {
      const audience = options.audience ?? randomUUID();
      if (typeof audience !== 'string' || audience.length === 0 || audience.length > 256) throw invalid('audience must be 1 to 256 characters');
      const subject = randomUUID();
      const token = await mintIdentityToken({ subject, username: 'server', scope: SERVER_SCOPE }, context());
      counters.identityTokensIssued += 1;
      const sessionToken = opaqueSecret();
      sessions.set(sessionToken, { subject, username: 'server' });
      return new ServerCredentials(subject, audience, token, sessionToken);
    },
    async mintIdentityToken(options) {
      return (await identityFor(options)).token;
    },
    async mintAccessToken(options) {
      let clientUuid: ClientUuid;
      try {
        clientUuid = parseClientUuid(options.clientUuid);
      } catch (error) {
        throw new TestkitError('ERR_TESTKIT_INVALID_ARGUMENT', 'clientUuid is not a UUID', { cause: error });
      }
      if (typeof options.certificateFingerprint !== 'string' || !FINGERPRINT.test(options.certificateFingerprint)) {
        throw invalid('certificateFingerprint must be a SHA-256 in base64url without padding');
      }
      const token = await mintAccessToken(
        { subject: clientUuid, username: options.username, audience: options.audience, certificateFingerprint: options.certificateFingerprint },
        context(),
        options.fault,
      );
      counters.accessTokensIssued += 1;
      return token;
    },
    tamperNext(fault) {
      tamper.push(fault);
    },
    failNext(route, status = 503) {
      if (!(route in SESSION_SERVICE_PATHS)) throw invalid(`unknown route ${JSON.stringify(route)}`);
      if (!Number.isInteger(status) || status < 400 || status > 599) throw invalid('status must be an HTTP error status (400 to 599)');
      const queue = failures.get(route) ?? [];
      queue.push(status);
      failures.set(route, queue);
    },
    get requests() {
      return [...requests];
    },
    get counters() {
      return { ...counters };
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
