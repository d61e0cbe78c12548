/**
 * What the strict client reports: every way a run was not seamless (docs/testkit.md § Strict client),
 * as typed values. A violation never carries packet bytes, a token or a grant: only packet names,
 * ids, counters and the peer's own close reasons.
 */
import type { BackendId } from '@handoff/types';

/** Where and when a violation happened, in the client's own terms (no wall clock). */
export interface ViolationBase {
  /** The client's event counter when it was found (every frame sent or received is one event). */
  readonly at: number;
  /** 1 for the first QUIC connection, 2 after a reconnect, … */
  readonly connection: number;
  /** The world the client was in (1 for its first world entry, 0 before it), across connections. */
  readonly world: number;
  /** One line for humans, with no secret in it. */
  readonly message: string;
}

/** Every violation, by kind. */
export interface ViolationDetails {
  /** The client had to open another QUIC connection (it followed a referral): not seamless by definition. */
  reconnect: { readonly reason: 'referral'; readonly host: string; readonly port: number };
  /** Following a referral failed: the new connection could not be made. */
  'reconnect-failed': { readonly host: string; readonly port: number; readonly code: string };
  /** The connection ended without the test asking for it and without a Disconnect packet. */
  'connection-closed': { readonly initiator: string; readonly code?: number | undefined; readonly reason?: string | undefined; readonly error?: string | undefined };
  /** A Disconnect packet reached the client (a kick, a refusal, "Internal server error!" after a wrong Pong…). */
  disconnected: { readonly reason: string | null; readonly type: string };
  /** An auth or setup packet arrived after the client's first world entry on this connection. */
  'setup-after-world-entry': { readonly packet: string };
  /** A packet the client cannot expect in its state (e.g. AuthGrant to a development client). */
  'unexpected-packet': { readonly packet: string; readonly state: string };
  /** A JoinWorld after the first world entry did not set clearWorld: a world change must clear the old one. */
  'join-world-without-clear': { readonly worldUuid: string };
  /** A JoinWorld was not followed by a SetClientId before the next JoinWorld (or before the client left). */
  'missing-set-client-id': { readonly worldUuid: string };
  /** A SetClientId arrived without a JoinWorld before it (the world had its id already). */
  'set-client-id-without-join-world': { readonly clientId: number };
  /** A chunk of a world the client had left arrived after the JoinWorld that left it. */
  'old-world-chunk': { readonly packet: string; readonly chunkWorldUuid?: string | undefined; readonly worldUuid: string };
  /** A Pong the client sent never reached the backend whose Ping it answers. */
  'unanswered-ping': { readonly pingId: number; readonly pongType: string; readonly pingWorld: number };
  /** A Pong reached another backend than the one whose Ping it answers. */
  'misrouted-pong': { readonly pingId: number; readonly pongType: string; readonly backend: BackendId };
  /** A backend refused a Pong (it did not match the head of its queue). */
  'rejected-pong': { readonly backend: BackendId; readonly count: number };
  /** A packet the client sent reached no backend. */
  'lost-packet': { readonly packet: string; readonly index: number };
  /** A packet the client sent once reached a backend more than once, or more than one backend. */
  'duplicated-packet': { readonly packet: string; readonly index: number; readonly copies: number; readonly backends: readonly BackendId[] };
  /** A packet reached its backend out of the order the client sent it in. */
  'reordered-packet': { readonly packet: string; readonly index: number; readonly backend: BackendId };
  /** The server opened a stream the client cannot have (a bidi stream, a uni stream beyond the generation's, or one after world entry). */
  'unexpected-stream': { readonly streamKind: string; readonly streamId: number };
  /** A frame the client could not read (malformed, unknown id, wrong direction or channel): the client closed. */
  'protocol-error': { readonly code: string; readonly channel: string; readonly packet?: string | undefined };
  /** The client could not authenticate (session service refused or unreachable). */
  'auth-failed': { readonly code: string; readonly status?: number | undefined };
  /** The server's access token failed the client's checks (e.g. bound to another certificate). */
  'server-token-refused': { readonly code: string };
}

/** A violation kind. */
export type ViolationKind = keyof ViolationDetails;

/** One violation: its kind, its details, and where it happened. */
export type Violation = { [K in ViolationKind]: ViolationBase & { readonly kind: K } & ViolationDetails[K] }[ViolationKind];

/** A violation of one kind. */
export type ViolationOf<K extends ViolationKind> = Extract<Violation, { readonly kind: K }>;

/** Every violation kind, for documentation and exhaustive tests. */
export const VIOLATION_KINDS: readonly ViolationKind[] = Object.freeze([
  'reconnect',
  'reconnect-failed',
  'connection-closed',
  'disconnected',
  'setup-after-world-entry',
  'unexpected-packet',
  'join-world-without-clear',
  'missing-set-client-id',
  'set-client-id-without-join-world',
  'old-world-chunk',
  'unanswered-ping',
  'misrouted-pong',
  'rejected-pong',
  'lost-packet',
  'duplicated-packet',
  'reordered-packet',
  'unexpected-stream',
  'protocol-error',
  'auth-failed',
  'server-token-refused',
]);

/**
 * Packets that belong to authentication or setup. After a client's first world entry, none may reach
 * it: the server itself never sends them in play, and a proxy must swallow a new backend's setup.
 * (Asset packets, `Update*` and ServerTags are left out: the server sends those in play too.)
 */
export const SETUP_PACKETS: ReadonlySet<string> = new Set([
  'AuthGrant',
  'ServerAuthToken',
  'ConnectAccept',
  'PasswordAccepted',
  'PasswordRejected',
  'Status',
  'WorldSettings',
  'WorldLoadProgress',
  'WorldLoadFinished',
  'ServerInfo',
]);

/** Packets that carry a world's chunk data (the G3 Chunks channel, UnloadChunk aside). */
export const CHUNK_PACKETS: ReadonlySet<string> = new Set([
  'SetChunk',
  'SetChunkHeightmap',
  'SetChunkTintmap',
  'SetChunkEnvironments',
  'SetFluids',
  'ServerSetBlock',
  'ServerSetBlocks',
  'ServerSetFluid',
  'ServerSetFluids',
  'UpdateBlockDamage',
]);
