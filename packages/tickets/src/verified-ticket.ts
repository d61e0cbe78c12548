/**
 * The branded result of a successful verification. Only the verifier makes one: the brand is a
 * type-level symbol, and {@link isVerifiedTicket} checks at runtime that the object came from it.
 */
import { inspect } from 'node:util';
import type { BackendId, ClientUuid, PoolId, SessionId } from '@handoff/types';
import type { TicketAlgorithm } from './format.js';

declare const verifiedTicketBrand: unique symbol;

/** State handed from the source to the target backend, as the ticket carries it. */
export type TicketState =
  | { readonly kind: 'inline'; readonly bytes: Uint8Array }
  | {
      readonly kind: 'reference';
      /** Key of the bytes in the shared state store. */
      readonly ref: string;
      /** Exact byte length of the referenced bytes. */
      readonly length: number;
      /** SHA-256 of the referenced bytes, unpadded base64url. */
      readonly sha256: string;
    };

/** A ticket that passed every check, whose nonce has been consumed. */
export interface VerifiedTicket {
  readonly [verifiedTicketBrand]: true;
  readonly kid: string;
  readonly alg: TicketAlgorithm;
  /** `sub`: the client the ticket was issued for. */
  readonly clientUuid: ClientUuid;
  /** `iss`: the backend the player comes from. */
  readonly source: BackendId;
  /** `aud`: the backend the ticket admits the player to. */
  readonly target: BackendId;
  /** `iat`, seconds since the epoch. */
  readonly issuedAt: number;
  /** `exp`, seconds since the epoch. */
  readonly expiresAt: number;
  readonly pool: PoolId | undefined;
  readonly sessionId: SessionId | undefined;
  /** The state claim; by reference, fetch the bytes and check them with `checkTicketState`. */
  readonly state: TicketState | undefined;
}

/** The fields of a verified ticket (internal). */
export type VerifiedTicketFields = Omit<VerifiedTicket, typeof verifiedTicketBrand>;

const minted = new WeakSet<object>();

function redacted(ticket: VerifiedTicketFields): Record<string, unknown> {
  const { state } = ticket;
  return {
    kid: ticket.kid,
    alg: ticket.alg,
    clientUuid: ticket.clientUuid,
    source: ticket.source,
    target: ticket.target,
    issuedAt: ticket.issuedAt,
    expiresAt: ticket.expiresAt,
    pool: ticket.pool,
    sessionId: ticket.sessionId,
    state:
      state === undefined
        ? undefined
        : state.kind === 'inline'
          ? { kind: 'inline', length: state.bytes.length }
          : { kind: 'reference', length: state.length },
  };
}

/** Makes a verified ticket (internal: only the verifier calls this). */
export function mintVerifiedTicket(fields: VerifiedTicketFields): VerifiedTicket {
  const ticket = { ...fields };
  // Logging a ticket never prints state bytes or the reference (JSON and util.inspect both redact).
  Object.defineProperty(ticket, 'toJSON', { value: () => redacted(fields), enumerable: false });
  Object.defineProperty(ticket, inspect.custom, { value: () => ({ VerifiedTicket: redacted(fields) }), enumerable: false });
  Object.freeze(ticket);
  minted.add(ticket);
  return ticket as unknown as VerifiedTicket;
}

/** True when `value` was returned by a ticket verifier of this package. */
export function isVerifiedTicket(value: unknown): value is VerifiedTicket {
  return typeof value === 'object' && value !== null && minted.has(value);
}
