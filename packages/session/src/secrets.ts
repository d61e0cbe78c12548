/**
 * The secrets a session record holds (docs/session.md, "The secrets of the handshake"): tokens and grants of the client handshake,
 * and the Connect's referral data (which may carry a migration ticket). They live only in process
 * memory, in a private holder of the record; serialising, inspecting, cloning or storing a record
 * never shows them (see docs/session.md, "Secrets and redaction").
 */

/** Every secret a record can hold, with its type. */
export interface SessionSecrets {
  /** `Connect.identityToken`: the client's identity JWT. */
  identityToken: string;
  /** `Connect.referralData`: opaque bytes, usually a migration ticket. */
  referralData: Uint8Array;
  /** `AuthGrant.authorizationGrant`: the grant the server obtained for the client. */
  authorizationGrant: string;
  /** `AuthGrant.serverIdentityToken`: the server's own identity token. */
  serverIdentityToken: string;
  /** `AuthToken.accessToken`: the client's access JWT (bound to its certificate). */
  accessToken: string;
  /** `AuthToken.serverAuthorizationGrant`: the grant the client obtained for the server. */
  serverAuthorizationGrant: string;
  /** `ServerAuthToken.serverAccessToken`: the server's access token (bound to its certificate). */
  serverAccessToken: string;
}

export type SecretName = keyof SessionSecrets;

/** Every secret name, in handshake order. */
export const SECRET_NAMES: readonly SecretName[] = Object.freeze([
  'identityToken',
  'referralData',
  'authorizationGrant',
  'serverIdentityToken',
  'accessToken',
  'serverAuthorizationGrant',
  'serverAccessToken',
]);

/** What redacted output shows instead of a secret. */
export const REDACTED = '[redacted]';
