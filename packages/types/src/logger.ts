/**
 * The logger every package accepts: pino-compatible, every method optional (pass `pino()` or a
 * child of it, `console`-like adapters, or nothing). Packages log ids, packet names and error codes
 * only: never a token, a grant, referral data, a ticket or key material.
 */
export interface Logger {
  debug?(obj: object, msg?: string): void;
  info?(obj: object, msg?: string): void;
  warn?(obj: object, msg?: string): void;
  error?(obj: object, msg?: string): void;
}
