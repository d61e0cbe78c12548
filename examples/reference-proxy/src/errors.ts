/**
 * The errors of the reference proxy: a configuration that does not hold, a file it names that cannot
 * be read, a start that fails. Each carries a stable `code`; a configuration error carries every
 * problem found, each naming its key path.
 */
import { HandoffError, isHandoffError, type HandoffErrorOptions } from '@handoff/types';

export const referenceProxyErrorCodes = {
  ERR_REFERENCE_PROXY_CONFIG:
    'the configuration (file and flags together) does not hold: `issues` lists every problem, each naming its key path (docs/operations.md lists every key)',
  ERR_REFERENCE_PROXY_FILE: 'a file the configuration names (the config itself, a key directory, a certificate, a token) cannot be read or is not what it must be',
  ERR_REFERENCE_PROXY_START: 'the proxy could not start (a port in use, Redis unreachable…): the message says which part; nothing is left running',
  ERR_REFERENCE_PROXY_CLOSED: 'the proxy is shutting down or closed: nothing more can be done with it',
} as const;

export type ReferenceProxyErrorCode = keyof typeof referenceProxyErrorCodes;

/** One problem of a configuration: the key path (`backends.a.address`) and what is wrong with it. */
export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
}

export interface ReferenceProxyErrorOptions extends HandoffErrorOptions {
  readonly issues?: readonly ConfigIssue[] | undefined;
}

/** The error of `@handoff/reference-proxy`. Messages never hold a secret (a token, a key, a password). */
export class ReferenceProxyError extends HandoffError<ReferenceProxyErrorCode> {
  override readonly name = 'ReferenceProxyError';
  /** For `ERR_REFERENCE_PROXY_CONFIG` and `ERR_REFERENCE_PROXY_FILE`: every problem, one per key path. */
  readonly issues: readonly ConfigIssue[];

  constructor(code: ReferenceProxyErrorCode, message: string = referenceProxyErrorCodes[code], options: ReferenceProxyErrorOptions = {}) {
    super('reference-proxy', code, message, options);
    this.issues = options.issues ?? [];
  }

  /** One line per problem: `path: message` (or the message alone). */
  lines(): string[] {
    return this.issues.length > 0 ? this.issues.map((issue) => `${issue.path}: ${issue.message}`) : [this.message];
  }
}

/** True when `value` is a {@link ReferenceProxyError} (of `code` when given). */
export function isReferenceProxyError(value: unknown, code?: ReferenceProxyErrorCode): value is ReferenceProxyError {
  return isHandoffError(value, 'reference-proxy', code);
}
