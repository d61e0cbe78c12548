/**
 * The first join of a player: what a proxy does between accepting a client and starting its proxy
 * session — a proxy ticket for the backend (the first join carries one too, so every backend can
 * insist on tickets), the Connect, and the backend's handshake (ConnectAccept swallowed: the client
 * had the proxy's; the password answered). The link is then ready for `createProxySession`, its next
 * frame the setup the client plays itself (`WorldSettings`…).
 */
import type { Address } from '@handoff/transport';
import type { Logger } from '@handoff/types';
import { connectBackend } from './backend/connector.js';
import { createSetupDriver } from './backend/setup-driver.js';
import type { TicketPolicy } from './backend/ticket-policy.js';
import type { AcceptedClient, BackendConfig, BackendLink } from './contracts.js';

/** Options of {@link joinBackend}. */
export interface JoinBackendOptions {
  /** The accepted client: its record gives the Connect's fields. */
  readonly client: AcceptedClient;
  /** The proxy's address as backends see it (`referralSource`). */
  readonly proxyAddress: Address;
  /** Issues the ticket for the join; without it, a development join (no ticket). */
  readonly tickets?: TicketPolicy | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly logger?: Logger | undefined;
}

/**
 * Joins `target` on the client's behalf, up to the end of the backend's handshake. On failure the link
 * is closed and the error rethrown (`ERR_PROXY_SETUP_DISCONNECTED` with the backend's reason, for a
 * refused ticket; `ERR_PROXY_BACKEND_CONNECT_FAILED`; `ERR_PROXY_TICKET_ISSUE_FAILED`…); the client is
 * left as it is: tell it with `client.disconnect(reason)`.
 */
export async function joinBackend(target: BackendConfig, options: JoinBackendOptions): Promise<BackendLink> {
  const { client, signal, logger } = options;
  const ticket = options.tickets
    ? await options.tickets.issue({ clientUuid: client.clientUuid, target: target.ref, sessionId: client.record.id }, { signal })
    : undefined;
  const link = await connectBackend(target, {
    record: client.record,
    generation: client.generation,
    ticket,
    proxyAddress: options.proxyAddress,
    signal,
    ...(logger ? { logger } : {}),
  });
  try {
    await createSetupDriver({ link, record: client.record, password: target.password, ...(logger ? { logger } : {}) }).auth({ signal });
  } catch (error) {
    await link.close('Join failed').catch(() => {});
    throw error;
  }
  return link;
}

/** Tells a client it cannot play (`Disconnect(message)`, then the close): `client.disconnect(message)`, never rejecting. */
export async function refuseClient(client: AcceptedClient, message: string): Promise<void> {
  await client.disconnect(message).catch(() => {});
}
