/**
 * Credentials handed out by the fake session service. The tokens live in private fields behind
 * getters: `JSON.stringify`, `util.inspect`, test snapshots and loggers that serialise the object
 * see `[redacted]`, never the token.
 */
import { inspect } from 'node:util';
import type { ClientUuid } from '@handoff/types';

/** What a redacted secret prints as. */
export const REDACTED = '[redacted]';

/** An identity token and a session token, kept out of every serialisation. */
abstract class RedactedCredentials {
  readonly #identityToken: string;
  readonly #sessionToken: string;

  protected constructor(identityToken: string, sessionToken: string) {
    this.#identityToken = identityToken;
    this.#sessionToken = sessionToken;
  }

  /** The identity token (a secret: never log it). */
  get identityToken(): string {
    return this.#identityToken;
  }

  /** The session token, the bearer of this party's session-service calls (a secret). */
  get sessionToken(): string {
    return this.#sessionToken;
  }

  /** The fields that are not secret. */
  protected abstract publicFields(): Record<string, string>;

  toJSON(): object {
    return { ...this.publicFields(), identityToken: REDACTED, sessionToken: REDACTED };
  }

  [inspect.custom](): string {
    const fields = Object.entries(this.publicFields()).map(([key, value]) => `${key}: '${value}'`);
    return `${this.constructor.name} { ${[...fields, `tokens: ${REDACTED}`].join(', ')} }`;
  }
}

/**
 * A player's game-session credentials, as the launcher gives them to a client: the identity token it
 * sends in `Connect`, and the session token it authenticates its own session-service calls with.
 */
export class PlayerCredentials extends RedactedCredentials {
  readonly clientUuid: ClientUuid;
  readonly username: string;

  constructor(clientUuid: ClientUuid, username: string, identityToken: string, sessionToken: string) {
    super(identityToken, sessionToken);
    this.clientUuid = clientUuid;
    this.username = username;
  }

  protected publicFields(): Record<string, string> {
    return { clientUuid: this.clientUuid, username: this.username };
  }
}

/**
 * A server's (or a proxy's) credentials: its identity token (sent to clients in `AuthGrant`), the
 * session token it calls the service with, and the audience its clients' access tokens must name.
 */
export class ServerCredentials extends RedactedCredentials {
  /** The server's subject UUID. */
  readonly subject: string;
  /** The audience a client's access token for this server carries (`aud`). */
  readonly audience: string;

  constructor(subject: string, audience: string, identityToken: string, sessionToken: string) {
    super(identityToken, sessionToken);
    this.subject = subject;
    this.audience = audience;
  }

  protected publicFields(): Record<string, string> {
    return { subject: this.subject, audience: this.audience };
  }
}
