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

/**
 * A URL as it may be logged or shown: its user name and password removed
 * (`redis://user:secret@host:6379/0` → `redis://host:6379/0`); `<invalid url>` for what is not a URL
 * (whose text could itself hold a secret).
 */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return '<invalid url>';
  }
}
