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
  // -- backend side (connector, tickets, setup driver)
  // -- forwarding and the proxy session
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
