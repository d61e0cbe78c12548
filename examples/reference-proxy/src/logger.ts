/**
 * Structured JSON logs with `pino`: one object per line, `time` in ms, `level` as a name. The kit and
 * the packages never put a secret in a log object, and on top of that every key that could hold one
 * (tokens, grants, tickets, keys, passwords, the Authorization header) is censored here, at any of the
 * first levels of nesting, whatever logged it.
 */
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';

/** Keys censored wherever they appear (top level and two levels down). */
export const REDACTED_KEYS = [
  'token',
  'tokens',
  'ticket',
  'referralData',
  'grant',
  'authorizationGrant',
  'authorization',
  'identityToken',
  'accessToken',
  'serverSessionToken',
  'serverIdentityToken',
  'password',
  'passwordHash',
  'key',
  'keyPem',
  'privateKey',
  'secret',
  'd',
] as const;

/** The censor put in place of a redacted value. */
export const REDACTED = '[redacted]';

function redactPaths(): string[] {
  const paths: string[] = [];
  for (const key of REDACTED_KEYS) paths.push(key, `*.${key}`, `*.*.${key}`);
  paths.push('req.headers.authorization', 'headers.authorization');
  return paths;
}

export type ProxyLogger = PinoLogger;

/** Options of {@link createProxyLogger}. */
export interface ProxyLoggerInit {
  readonly level?: string | undefined;
  /** Where lines go (default: standard output). Each call of `write` gets one line ending in `\n`. */
  readonly destination?: DestinationStream | undefined;
}

/** The proxy's logger: JSON lines, secrets censored, level names, the component `handoff-proxy`. */
export function createProxyLogger(init: ProxyLoggerInit = {}): ProxyLogger {
  return pino(
    {
      name: 'handoff-proxy',
      level: init.level ?? 'info',
      redact: { paths: redactPaths(), censor: REDACTED },
      formatters: { level: (label) => ({ level: label }) },
      // errors: name, code and message only (a cause chain can hold what a library saw)
      serializers: {
        err: (err: unknown) => {
          if (!(err instanceof Error)) return { message: String(err) };
          const code = (err as { code?: unknown }).code;
          return { name: err.name, message: err.message, ...(typeof code === 'string' ? { code } : {}) };
        },
      },
    },
    init.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}
