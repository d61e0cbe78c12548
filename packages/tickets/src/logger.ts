/**
 * A pino-compatible logger; every method is optional. This package logs error codes, reasons and
 * kids only: never a token, a nonce, state bytes or key material.
 */
export interface Logger {
  debug?(obj: object, msg?: string): void;
  info?(obj: object, msg?: string): void;
  warn?(obj: object, msg?: string): void;
  error?(obj: object, msg?: string): void;
}
