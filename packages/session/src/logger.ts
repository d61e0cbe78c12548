/**
 * A pino-compatible logger; every method is optional. This package logs session ids, packet names and
 * error codes only: never a token, a grant, referral data or a ticket.
 */
export interface Logger {
  debug?(obj: object, msg?: string): void;
  info?(obj: object, msg?: string): void;
  warn?(obj: object, msg?: string): void;
  error?(obj: object, msg?: string): void;
}
