/**
 * Credentials handed out by the fake session service. The tokens live in private fields behind
 * getters: `JSON.stringify`, `util.inspect`, test snapshots and loggers that serialise the object
 * see `[redacted]`, never the token.
 */
import { inspect } from 'node:util';
import type { ClientUuid } from '@handoff/types';

/** What a redacted secret prints as. */
export const REDACTED = '[redacted]';

/**
 * A player's game-session credentials, as the launcher gives them to a client: the identity token it
 * sends in `Connect`, and the session token it authenticates its own session-service calls with.
 */
export class PlayerCredentials {
  readonly clientUuid: ClientUuid;
  readonly username: string;
  readonly #identityToken: string;
  readonly #sessionToken: string;

  constructor(clientUuid: ClientUuid, username: string, identityToken: string, sessionToken: string) {
    this.clientUuid = clientUuid;
    this.username = username;
    this.#identityToken = identityToken;
    this.#sessionToken = sessionToken;
  }

  /** The identity token (a secret: never log it). */
  get identityToken(): string {
    return this.#identityToken;
  }

  /** The session token, the bearer of the player's session-service calls (a secret). */
  get sessionToken(): string {
    return this.#sessionToken;
  }

  toJSON(): object {
    return { clientUuid: this.clientUuid, username: this.username, identityToken: REDACTED, sessionToken: REDACTED };
  }

  [inspect.custom](): string {
    return `PlayerCredentials { clientUuid: '${this.clientUuid}', username: '${this.username}', tokens: ${REDACTED} }`;
  }
}

/**
 * A server's (or a proxy's) credentials: its identity token (sent to clients in `AuthGrant`), the
 * session token it calls the service with, and the audience its clients' access tokens must name.
 */
export class ServerCredentials {
  /** The server's subject UUID. */
  readonly subject: string;
  /** The audience a client's access token for this server carries (`aud`). */
  readonly audience: string;
  readonly #identityToken: string;
  readonly #sessionToken: string;

  constructor(subject: string, audience: string, identityToken: string, sessionToken: string) {
    this.subject = subject;
    this.audience = audience;
    this.#identityToken = identityToken;
    this.#sessionToken = sessionToken;
  }

  /** The server's identity token (`AuthGrant.serverIdentityToken`; a secret). */
  get identityToken(): string {
    return this.#identityToken;
  }

  /** The session token, the bearer of the server's session-service calls (a secret). */
  get sessionToken(): string {
    return this.#sessionToken;
  }

  toJSON(): object {
    return { subject: this.subject, audience: this.audience, identityToken: REDACTED, sessionToken: REDACTED };
  }

  [inspect.custom](): string {
    return `ServerCredentials { subject: '${this.subject}', audience: '${this.audience}', tokens: ${REDACTED} }`;
  }
}
