/**
 * The configuration of the reference proxy, declared once as JSON Schema (TypeBox builds the schema
 * object and infers the TypeScript type from it). `proxy-config.schema.json` at the package root and
 * `docs/proxy-config.schema.json` are this object written out (`pnpm --filter @handoff/reference-proxy
 * schema`); a test fails when either differs.
 */
import { Type, type Static } from '@sinclair/typebox';

/** `host:port` or `[v6]:port`. */
const ADDRESS = '^(?:\\[[0-9A-Fa-f:.]+\\]|[^\\s:\\[\\]/]+):[0-9]{1,5}$';
/** `quic://host:port` or `tcp://host:port`. */
const BACKEND_URL = '^(?:quic|tcp)://(?:\\[[0-9A-Fa-f:.]+\\]|[^\\s:\\[\\]/]+):[0-9]{1,5}$';
/** Backend and pool ids (`@handoff/types`: 1–64 of A–Z a–z 0–9 . _ : -). */
const ID = '^[A-Za-z0-9._:-]{1,64}$';

const address = (description: string) => Type.String({ pattern: ADDRESS, description });
const path = (description: string) => Type.String({ minLength: 1, description });
/** Log levels of the JSON logger. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const ms = (description: string) => Type.Integer({ minimum: 1, maximum: 3_600_000, description });
const strict = { additionalProperties: false } as const;

/**
 * One of a few strings, as a plain `enum` (a union of literals would be an `anyOf`, whose validation
 * errors are one per branch; an `enum` fails with one error listing the allowed values).
 */
function oneOf<const T extends readonly string[]>(values: T, description: string) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], description });
}

const handshakeRate = (description: string) =>
  Type.Object(
    {
      perSecond: Type.Number({ exclusiveMinimum: 0, description: 'handshakes per second refilled' }),
      burst: Type.Integer({ minimum: 1, description: 'handshakes at once' }),
    },
    { ...strict, description },
  );

const bufferLimits = (description: string) =>
  Type.Object(
    {
      maxPackets: Type.Optional(Type.Integer({ minimum: 1, description: 'client packets held at once' })),
      maxBytes: Type.Optional(Type.Integer({ minimum: 1, description: 'bytes (whole frames) held at once' })),
    },
    { ...strict, description },
  );

export const ProxyConfigSchema = Type.Object(
  {
    proxy: Type.Optional(
      Type.Object(
        {
          id: Type.Optional(
            Type.String({ pattern: ID, description: "the proxy's id: the issuer of its tickets and the owner of its directory entries (default `proxy`)" }),
          ),
          address: Type.Optional(
            address("the address backends know the proxy by: the `referralSource` of every Connect (default: `listen.address`; required when that is a wildcard)"),
          ),
          publicAddress: Type.Optional(
            address('where a referral sends a client back to the proxy (default: `proxy.address`)'),
          ),
          generations: Type.Optional(
            Type.Array(oneOf(['G1', 'G2', 'G3'], 'a protocol generation'), {
              minItems: 1,
              uniqueItems: true,
              description: 'protocol generations accepted from clients (default `[G3]`)',
            }),
          ),
          passwordFile: Type.Optional(path("a file holding the proxy's own server password (every client answers its challenge)")),
        },
        strict,
      ),
    ),
    listen: Type.Object(
      {
        address: address('where clients connect, over QUIC (flag `--listen`)'),
        certificate: Type.Optional(
          Type.Object(
            {
              cert: path('certificate chain, PEM, leaf first'),
              key: path('its private key, PEM'),
            },
            { ...strict, description: 'the listener certificate (default: a new self-signed development certificate per start)' },
          ),
        ),
        idleTimeoutMs: Type.Optional(ms('a client connection silent this long is closed (default 30000)')),
        rateLimit: Type.Optional(
          Type.Object(
            {
              burst: Type.Integer({ minimum: 1, description: 'packets a client may send at once (default 500)' }),
              perSecond: Type.Number({ exclusiveMinimum: 0, description: 'packets per second refilled (default 2000)' }),
            },
            { ...strict, description: "each client's packet rate limit (default: the server's, burst 500 and 2000 packets/s)" },
          ),
        ),
        limits: Type.Optional(
          Type.Object(
            {
              maxConnections: Type.Optional(Type.Integer({ minimum: 1, description: 'client connections at once, in their handshake or established (default 4096)' })),
              maxConnectionsPerAddress: Type.Optional(
                Type.Integer({ minimum: 1, description: 'client connections at once from one address, IPv6 by /64 (default 64: players behind one NAT share an address)' }),
              ),
              handshakeRate: Type.Optional(handshakeRate('new handshakes in total (default 500/s, burst 1000)')),
              handshakeRatePerAddress: Type.Optional(handshakeRate('new handshakes from one address (default 10/s, burst 30)')),
              handshakeTimeoutMs: Type.Optional(ms('a handshake not complete after this long is abandoned (default 10000)')),
            },
            {
              ...strict,
              description:
                'what unauthenticated peers may make the listener do; past a limit a peer is closed with code 1 (RATE_LIMITED). Raise the per-address limits when many players share one address (a load test from one machine)',
            },
          ),
        ),
      },
      strict,
    ),
    admin: Type.Optional(
      Type.Object(
        {
          address: Type.Optional(address('the admin HTTP API (default `127.0.0.1:8080`; flag `--admin`)')),
          tokenFile: Type.Optional(
            path('a file holding the bearer token of the admin API (or the environment variable `HANDOFF_ADMIN_TOKEN`); required when `address` is not loopback'),
          ),
        },
        strict,
      ),
    ),
    backends: Type.Record(
      Type.String({ pattern: ID }),
      Type.Object(
        {
          address: Type.String({ pattern: BACKEND_URL, description: '`quic://host:port` or `tcp://host:port` (a server run with `--transport TCP`)' }),
          pool: Type.Optional(Type.String({ pattern: ID, description: 'the pool the backend belongs to (default `default`)' })),
          trust: Type.Optional(
            Type.Object(
              {
                fingerprints: Type.Optional(
                  Type.Array(Type.String({ pattern: '^[A-Za-z0-9_-]{43}$' }), {
                    minItems: 1,
                    description: "SHA-256 of the backend's certificate, base64url (what `handoff backend` prints): pinning, for self-signed backends",
                  }),
                ),
                ca: Type.Optional(path("a CA file (PEM): the backend's chain must verify against it")),
                serverName: Type.Optional(Type.String({ minLength: 1, description: 'with `ca`: the name the certificate must carry' })),
                insecure: Type.Optional(Type.Boolean({ description: "`true`: no check of the backend's certificate (a private network; the default on loopback)" })),
              },
              { ...strict, description: "QUIC: how the backend's certificate is checked (exactly one of `fingerprints`, `ca`, `insecure`)" },
            ),
          ),
          jwks: Type.Optional(
            path("the backend's public keys (its key directory or a JWKS file): its ticketed referrals are verified with them and become seamless migrations"),
          ),
          passwordFile: Type.Optional(path("a file holding the backend's server password (the proxy answers its challenge)")),
          forwardIdentityToken: Type.Optional(
            Type.Boolean({ description: "forward the client's identity token in the Connect, so that a plugin can check it (default true)" }),
          ),
        },
        strict,
      ),
      { ...strict, minProperties: 1, description: 'the backends, by id (flag `--backend id=quic://host:port`, repeatable)' },
    ),
    pools: Type.Optional(
      Type.Record(
        Type.String({ pattern: ID }),
        Type.Object(
          {
            fallback: Type.Optional(
              Type.Unsafe<string | null>({
                type: ['string', 'null'],
                pattern: ID,
                description: 'the pool whose backends take the players of a crashed or kicking backend, on the same connection (default: the same pool; `null`: no failover)',
              }),
            ),
            assets: Type.Optional(
              oneOf(['require-identical', 'forward-after-cutover', 'swallow'], "what a migration into the pool does with the target's assets (default `require-identical`)"),
            ),
            finalKicks: Type.Optional(
              Type.Array(Type.String({ minLength: 1 }), {
                description: "regular expressions (case-insensitive) of a backend's kick reasons that must not fail over, e.g. a ban: the player gets the kick as it is",
              }),
            ),
            otherwise: Type.Optional(
              oneOf(
                ['disconnect', 'refer'],
                "when a backend of the pool is lost and no failover moves the player: `disconnect` with the backend's reason (default) or `refer` the client to `proxy.publicAddress`",
              ),
            ),
          },
          strict,
        ),
        { ...strict, description: 'per-pool policy, by pool id' },
      ),
    ),
    initialPool: Type.Optional(Type.String({ pattern: ID, description: 'the pool new players join (default: the pool of the first backend listed)' })),
    clientAuth: Type.Object(
      {
        mode: oneOf(
          ['none', 'session-service'],
          '`session-service`: tokens checked against the session service; `none`: development, the Connect is trusted (flag `--client-auth`)',
        ),
        url: Type.Optional(Type.String({ pattern: '^https?://', description: 'the session service (default `https://sessions.hytale.com`)' })),
        audience: Type.Optional(Type.String({ minLength: 1, description: "the proxy's audience: clients' access tokens must name it" })),
        serverSessionTokenFile: Type.Optional(path("a file holding the proxy's game-session token (the Bearer of the grant exchanges)")),
        serverIdentityTokenFile: Type.Optional(path("a file holding the proxy's identity token (sent in AuthGrant for mutual authentication)")),
        issuer: Type.Optional(Type.String({ minLength: 1, description: 'the token issuer to require (default `https://sessions.hytale.com`)' })),
      },
      { ...strict, description: 'how clients are authenticated' },
    ),
    tickets: Type.Optional(
      Type.Object(
        {
          keys: path("the proxy's key directory (`handoff keys generate`): tickets are signed with `signing-key.jwk` (flag `--ticket-keys`)"),
          ttlSeconds: Type.Optional(Type.Integer({ minimum: 5, maximum: 60, description: 'lifetime of the tickets the proxy issues (default 30)' })),
        },
        { ...strict, description: 'migration tickets (without them, joins are development joins and every referral is forwarded to the client)' },
      ),
    ),
    redis: Type.Optional(
      Type.Object(
        {
          url: Type.String({ pattern: '^rediss?://', description: 'replay protection of ticket nonces and the session directory, shared by every proxy (flag `--redis`; default: in memory)' }),
          keyPrefix: Type.Optional(Type.String({ minLength: 1, description: 'session directory key prefix (default `handoff:session:`)' })),
        },
        strict,
      ),
    ),
    timeouts: Type.Optional(
      Type.Object(
        {
          handshake: Type.Optional(
            Type.Object(
              {
                initial: Type.Optional(ms('connection to Connect (default 15000)')),
                auth: Type.Optional(ms('inactivity while the identity token is checked (default 30000)')),
                authGrant: Type.Optional(ms("the session service's grant (default 30000)")),
                authToken: Type.Optional(ms("until the client's AuthToken (default 30000)")),
                authServerExchange: Type.Optional(ms("the session service's exchange (default 15000)")),
                password: Type.Optional(ms('inactivity during the password challenge (default 45000)')),
              },
              { ...strict, description: "client handshake stages, ms (defaults: the server's)" },
            ),
          ),
          migration: Type.Optional(
            Type.Object(
              {
                prepare: Type.Optional(ms('opening the target and sending Connect (default 5000)')),
                auth: Type.Optional(ms("the target's ConnectAccept (default 10000)")),
                sync: Type.Optional(ms("playing the client to the target until its JoinWorld (default 30000)")),
                freeze: Type.Optional(ms('stopping the source at a frame boundary (default 2000)')),
                cutover: Type.Optional(ms('the cleanup packets and the rewritten JoinWorld (default 5000)')),
                resume: Type.Optional(ms("draining the buffer to the target until the client's ClientReady (default 10000)")),
                cleanup: Type.Optional(ms('closing the source (default 15000)')),
                rollback: Type.Optional(ms('rolling back to the source (default 5000)')),
                fallback: Type.Optional(ms('sending the referral or Disconnect after a failure past the cut (default 5000)')),
                migration: Type.Optional(ms('the whole migration (default 60000)')),
              },
              { ...strict, description: 'migration deadlines, ms (docs/migration.md)' },
            ),
          ),
          referralGraceMs: Type.Optional(ms('how long a referred client may take to leave before it is closed (default 10000)')),
          shutdownMs: Type.Optional(ms('on SIGTERM: the most the proxy waits for players to be told and closed before it exits (default 10000)')),
        },
        strict,
      ),
    ),
    buffers: Type.Optional(
      Type.Object(
        {
          migration: Type.Optional(bufferLimits('client packets buffered by one migration (default 1024 packets, 1 MiB)')),
          global: Type.Optional(bufferLimits('client packets buffered by every migration together (default 262144 packets, 64 MiB)')),
        },
        strict,
      ),
    ),
    shutdown: Type.Optional(
      Type.Object(
        {
          message: Type.Optional(
            Type.String({ minLength: 1, maxLength: 200, description: 'what players are told on SIGTERM (default "Server is shutting down!", the server\'s)' }),
          ),
        },
        strict,
      ),
    ),
    log: Type.Optional(
      Type.Object(
        {
          level: Type.Optional(oneOf(LOG_LEVELS, 'JSON log level on stdout (default `info`; flag `--log-level`)')),
        },
        strict,
      ),
    ),
  },
  {
    ...strict,
    title: 'Handoff reference proxy configuration',
    description: 'The YAML (or JSON) file of `handoff proxy --config <file>`; docs/operations.md describes every key.',
  },
);

/** The configuration as a file gives it (after validation). */
export type ProxyConfig = Static<typeof ProxyConfigSchema>;
export type BackendEntry = ProxyConfig['backends'][string];
export type PoolEntry = NonNullable<ProxyConfig['pools']>[string];

/** The published JSON Schema document (what `proxy-config.schema.json` holds). */
export function proxyConfigJsonSchema(): Record<string, unknown> {
  return { $schema: 'http://json-schema.org/draft-07/schema#', ...(JSON.parse(JSON.stringify(ProxyConfigSchema)) as Record<string, unknown>) };
}
