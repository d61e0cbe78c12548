import { createHash } from 'node:crypto';

/**
 * The SHA-256 fingerprint of a DER-encoded certificate, in the base64url-without-padding form that
 * Hytale's `cnf.x5t#S256` token claim uses (the server's `CertificateUtil`; docs/transports.md, "What the
 * Hytale server does on the wire › Certificates"): 43 characters.
 *
 * @example
 * ```ts
 * certificateFingerprint(connection.peerCertificates[0]!) === accessToken.cnf['x5t#S256'];
 * ```
 */
export function certificateFingerprint(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('base64url');
}
