/**
 * Hytale's QUIC application close codes, as the server's `ProtocolUtil` defines them; how the server
 * uses each is in docs/transports.md, "What the Hytale server does on the wire › Close codes".
 *
 * G1 servers know only 0–3; G2/G3 add 4–6 and may attach a UTF-8 reason phrase.
 * Transports pass any non-negative integer through; these names are for readability.
 */
export const CloseCode = {
  /** Normal close, e.g. after a `Disconnect` packet (a kick). */
  NO_ERROR: 0,
  /** The packet rate limiter tripped (burst 500, refill 2000 packets/s by default). */
  RATE_LIMITED: 1,
  /** Authentication failed. */
  AUTH_FAILED: 2,
  /** Protocol version mismatch (G1 and later). */
  INVALID_VERSION: 3,
  /** Read, write or connection timeout (G2+), sent after `Disconnect("<…> timeout")`. */
  TIMEOUT: 4,
  /** The client's ALPN was `hytale/1` on a G2+ server: "Your game client needs to be updated." (G2+). */
  CLIENT_OUTDATED: 5,
  /** The server is older than the client (G2+). */
  SERVER_OUTDATED: 6,
} as const;

/** One of Hytale's named application close codes. */
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

const names = new Map<number, string>(Object.entries(CloseCode).map(([name, code]) => [code, name]));

/** `closeCodeName(4) === 'TIMEOUT'`; `undefined` for a code Hytale does not name. */
export function closeCodeName(code: number): keyof typeof CloseCode | undefined {
  return names.get(code) as keyof typeof CloseCode | undefined;
}
