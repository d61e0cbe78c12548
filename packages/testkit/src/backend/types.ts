/**
 * The public shapes of the simulated backend: its options, its players, their packet logs, events
 * and counters.
 */
import type { QuicListenerLimits } from '@handoff/transport-quic';
import type { Address, Connection, Transport } from '@handoff/transport';
import type { BackendId, ClientUuid, Logger } from '@handoff/types';
import type { Clock } from './clock.js';
import type { TicketCheckInit } from './ticket-seam.js';
import type { BackendAsset, BackendAssetInit } from './world.js';

/** The server's handler stages (`PacketHandler.initStage`/`enterStage` names), then `closed`. */
export type BackendStage =
  | 'initial'
  | 'password'
  | 'setup:world-settings'
  | 'setup:assets-request'
  | 'setup:send-assets'
  | 'setup:add-to-universe'
  | 'play'
  | 'closed';

/**
 * Stage durations in ms. Each is both the stage timeout (where the server arms one) and the packet
 * inactivity timeout of that stage. Defaults: the server's multiplayer profile (G2/G3); G1 backends use
 * G1's fixed values for `initial` (10 s), `password` (30 s) and `setupWorldSettings` (10 s).
 */
export interface BackendTimeouts {
  readonly initial: number;
  readonly password: number;
  readonly setupWorldSettings: number;
  readonly setupAssetsRequest: number;
  readonly setupSendAssets: number;
  readonly setupAddToUniverse: number;
  readonly play: number;
  /** The window for ClientReady(readyForChunks) after JoinWorld (fixed at 30 s in the server). */
  readonly clientReady: number;
  /** Delay between the "update your client" Disconnect and the close with code 5 (100 ms in the server). */
  readonly outdatedClose: number;
}

/** How much of every received packet the log keeps. */
export type PacketLogMode = 'digest' | 'frames' | 'count';

/** One packet the backend received from a player, in arrival order. */
export interface ReceivedPacket {
  /** 0, 1, 2… per connection: arrival order. */
  readonly seq: number;
  /** Backend clock time (ms since the epoch). */
  readonly at: number;
  /** The stage the backend was in when the packet arrived. */
  readonly stage: BackendStage;
  readonly id: number;
  readonly name: string;
  /** Whole frame length in bytes (header included). */
  readonly size: number;
  /** {@link frameDigest} of the whole frame (`'digest'` and `'frames'` modes; `''` in `'count'` mode, which keeps no records). */
  readonly digest: string;
  /** A copy of the whole frame (`'frames'` mode only). */
  readonly frame?: Uint8Array;
}

/** How a player's connection ended. */
export type DisconnectKind =
  | 'kick'
  | 'refused'
  | 'ticket-refused'
  | 'outdated'
  | 'incompatible'
  | 'stage-timeout'
  | 'read-timeout'
  | 'client-ready-timeout'
  | 'internal-error'
  | 'unexpected-packet'
  | 'protocol-violation'
  | 'rate-limited'
  | 'duplicate-login'
  | 'shutdown'
  | 'crash'
  | 'client-disconnect'
  | 'client-closed'
  | 'connection-lost';

interface EventBase {
  /** Position in the backend's event log (0, 1, 2…). */
  readonly seq: number;
  /** Backend clock time (ms since the epoch). */
  readonly at: number;
  readonly backend: BackendId;
  /** The player's key (`p1`, `p2`…: one per connection). */
  readonly player: string;
  readonly clientUuid?: ClientUuid | undefined;
}

/** What a simulated backend reports: one event per step of a player's life (never per packet). */
export type BackendEvent = EventBase &
  (
    | { readonly type: 'connected'; readonly remote: string; readonly alpn?: string | undefined }
    | { readonly type: 'connect'; readonly username: string; readonly referral: boolean }
    | { readonly type: 'stage'; readonly stage: BackendStage }
    | { readonly type: 'password'; readonly result: 'challenged' | 'accepted' | 'rejected'; readonly attemptsRemaining?: number | undefined }
    | {
        readonly type: 'ticket';
        /** `absent`: no referralData (a development join); `unchecked`: referralData but no key ring configured. */
        readonly result: 'accepted' | 'refused' | 'absent' | 'unchecked';
        readonly code?: string | undefined;
        readonly source?: string | undefined;
        readonly kid?: string | undefined;
      }
    | { readonly type: 'assets'; readonly requested: number; readonly sent: number; readonly unknown: number }
    | { readonly type: 'join-world'; readonly worldUuid: string }
    | { readonly type: 'ready'; readonly clientId: number }
    | { readonly type: 'ready-for-gameplay' }
    | { readonly type: 'referral'; readonly host: string; readonly port: number; readonly dataBytes: number }
    | { readonly type: 'pong-mismatch'; readonly pongType: string; readonly expected: number | undefined; readonly received: number }
    | { readonly type: 'stalled' | 'resumed' }
    | {
        readonly type: 'disconnected';
        readonly kind: DisconnectKind;
        /** The Disconnect packet's reason, when the backend sent or received one. */
        readonly reason?: string | undefined;
        /** The application close code of the close (the backend's, or the client's when it closed first). */
        readonly closeCode?: number | undefined;
        /** What went wrong, for the log: a protocol error code, the stage that timed out… Never a secret. */
        readonly detail?: string | undefined;
      }
  );

export type BackendEventType = BackendEvent['type'];

/** Counters of one player's connection. */
export interface PlayerCounters {
  packetsIn: number;
  bytesIn: number;
  packetsOut: number;
  bytesOut: number;
  pingsSent: number;
  pongsAccepted: number;
}

/** Counters of a whole backend. */
export interface BackendCounters extends PlayerCounters {
  connections: number;
  /** Connects that passed the Initial checks. */
  connects: number;
  /** Players that reached JoinWorld. */
  joined: number;
  /** Players that answered JoinWorld with ClientReady. */
  ready: number;
  ticketsAccepted: number;
  ticketsRefused: number;
  disconnects: number;
  protocolViolations: number;
  timeouts: number;
  referrals: number;
}

/** A player as the backend sees it: one connection, from accept to close. Read-only. */
export interface BackendPlayer {
  /** `p1`, `p2`…: unique per backend, one per connection. */
  readonly key: string;
  readonly backend: BackendId;
  readonly remoteAddress: Address;
  readonly alpn: string | undefined;
  /** base64url SHA-256 of the client certificate (`cnf.x5t#S256` form), when there is one. */
  readonly certificateFingerprint: string | undefined;
  /** From Connect (undefined before it arrives). */
  readonly clientUuid: ClientUuid | undefined;
  readonly username: string | undefined;
  readonly language: string | undefined;
  readonly stage: BackendStage;
  /** The network entity id sent in SetClientId (after ClientReady). */
  readonly clientId: number | undefined;
  /** Whether the backend answered ClientReady (the player is in the world, pings run). */
  readonly inWorld: boolean;
  readonly stalled: boolean;
  /** Every packet received, in order (empty in `'count'` mode; see {@link BackendPlayer.counters}). */
  readonly received: readonly ReceivedPacket[];
  /** Records dropped because the log reached its limit (the oldest go first). */
  readonly receivedDropped: number;
  /** This player's events, in order. */
  readonly events: readonly BackendEvent[];
  readonly counters: Readonly<PlayerCounters>;
  /** The ticket this player joined with, when one was verified (no ticket bytes). */
  readonly ticket: { readonly kid: string; readonly source: string; readonly pool?: string | undefined } | undefined;
  /** Resolves with the `disconnected` event once the connection is over. */
  readonly closed: Promise<BackendEvent & { type: 'disconnected' }>;
}

/** How the backend listens. */
export type BackendTransport =
  | 'quic'
  | 'tcp'
  /** Any transport of the contract (e.g. `memory()` from `@handoff/transport`); `name === 'tcp'` means one stream per connection. */
  | Transport;

/** QUIC listener options (ignored by other transports). */
export interface BackendQuicInit {
  /** Server certificate (PEM chain and key). Default: a new self-signed `localhost` certificate, as the server makes. */
  readonly certificate?: { readonly certPem: string; readonly keyPem: string } | undefined;
  /** `'required-any'` (default, what a Hytale server does) or mTLS to the proxy: `{ policy: 'required-and-verified', ca }`. */
  readonly clientCertificate?: 'required-any' | { readonly policy: 'required-and-verified'; readonly ca: string | readonly string[] } | undefined;
  /** QUIC idle timeout in ms (default 60 000, the server's `play` timeout). */
  readonly idleTimeout?: number | undefined;
  /**
   * The listener's limits on unauthenticated peers. Default `SHARED_ADDRESS_LIMITS` of
   * `@handoff/transport-quic`: a backend behind a proxy sees every player arrive from the proxy's
   * address, so the per-address limits equal the totals.
   */
  readonly limits?: QuicListenerLimits | undefined;
}

/** What a plugin listening to `PlayerSetupConnectEvent` may decide. */
export type SetupConnectDecision =
  | undefined
  | { readonly disconnect: string }
  | { readonly refer: { readonly host: string; readonly port: number; readonly data?: Uint8Array | undefined } };

/** Options of {@link createBackend}. */
export interface BackendInit {
  /** This backend's id: the ticket audience it expects, and the name in its chunks and logs. */
  readonly id: string;
  readonly transport: BackendTransport;
  /** Default `127.0.0.1:0` (a free port). */
  readonly listen?: Address | undefined;
  /** `G1`, `G2` or `G3` (default `G3`). */
  readonly generation?: string | undefined;
  readonly quic?: BackendQuicInit | undefined;
  /** A server password: Connect is answered with a 32-byte challenge (3 attempts). */
  readonly password?: string | undefined;
  /** Verify tickets in `Connect.referralData` (a plugin in `PlayerSetupConnectEvent`). */
  readonly tickets?: TicketCheckInit | undefined;
  /** Refuse joins without referralData (needs `tickets`). Default: accept them (a development join). */
  readonly requireTicket?: boolean | undefined;
  /** Called in `PlayerSetupConnectEvent` after the ticket check, like a plugin. */
  readonly onSetupConnect?: ((player: BackendPlayer) => SetupConnectDecision | Promise<SetupConnectDecision>) | undefined;
  /** The common assets this backend requires (default: two small assets shared by every backend). */
  readonly assets?: readonly (BackendAsset | BackendAssetInit)[] | undefined;
  /** Bytes per AssetPart (default 0x280000, the server's). */
  readonly assetPartSize?: number | undefined;
  /** World UUID (default: derived from the id, so a restart keeps it). */
  readonly worldUuid?: string | undefined;
  /** Chunk columns sent around the spawn after ClientReady: (2r+1)² SetChunk sections (default r = 1). */
  readonly chunkRadius?: number | undefined;
  /** Bytes of block data per SetChunk (default 1024). */
  readonly chunkBytes?: number | undefined;
  /** ServerInfo: name, motd, max players. The server's build string is the close reason on a version mismatch. */
  readonly server?: {
    readonly name?: string | undefined;
    readonly motd?: string | undefined;
    readonly maxPlayers?: number | undefined;
    readonly version?: string | undefined;
    /** In chunks (the server sends ViewRadius(maxViewRadius × 32)); default 12. */
    readonly maxViewRadius?: number | undefined;
  } | undefined;
  readonly timeouts?: Partial<BackendTimeouts> | undefined;
  /** The server's packet rate limiter (default on: burst 500, 2000 packets/s); `false` turns it off. */
  readonly rateLimit?: false | { readonly burst: number; readonly perSecond: number } | undefined;
  /** Default `systemClock`; tests pass a `ManualClock`. */
  readonly clock?: Clock | undefined;
  readonly logger?: Logger | undefined;
  /** Called for every event (never awaited; a throwing listener is ignored). */
  readonly onEvent?: ((event: BackendEvent) => void) | undefined;
  /** Default `'digest'`. */
  readonly packetLog?: PacketLogMode | undefined;
  /** Records kept per player (default 100 000; the oldest are dropped beyond). */
  readonly packetLogLimit?: number | undefined;
  /** Events kept by the backend (default 100 000). */
  readonly eventLogLimit?: number | undefined;
  /** Players kept after they left, for their logs (default 1000, the oldest dropped first). */
  readonly retainPlayers?: number | undefined;
}

/** A running simulated backend. */
export interface SimulatedBackend {
  readonly id: BackendId;
  /** `G1`, `G2` or `G3`. */
  readonly generation: string;
  /** The bound address (with the real port). */
  readonly address: Address;
  readonly transport: string;
  readonly worldUuid: string;
  /** The assets it requires (WorldSettings). */
  readonly assets: readonly BackendAsset[];
  /** QUIC: the server certificate's fingerprint (base64url SHA-256), to pin it (`serverTrust: { fingerprints }`). */
  readonly certificateFingerprint: string | undefined;
  /** QUIC: the server certificate chain (PEM), to trust it (`serverTrust: { ca }`). */
  readonly certificatePem: string | undefined;
  /** Players connected now (one per connection, including those still in the handshake). */
  readonly players: readonly BackendPlayer[];
  /** Every player, connected or gone (the most recent `retainPlayers` of the gone ones). */
  readonly allPlayers: readonly BackendPlayer[];
  /** The connected player with this UUID that is furthest in (in the world first), if any. */
  player(clientUuid: ClientUuid | string): BackendPlayer | undefined;
  /**
   * Every packet received from `clientUuid`, over all its connections to this backend, in order
   * (connections in the order they were accepted). The log a client checks its own sends against.
   */
  packetLog(clientUuid: ClientUuid | string): ReceivedPacket[];
  /** The backend's events, in order (the most recent `eventLogLimit`). */
  readonly events: readonly BackendEvent[];
  /** Total events so far (also the `seq` the next event gets): pass it as `since` to wait for later events. */
  readonly eventCount: number;
  readonly counters: Readonly<BackendCounters>;
  /**
   * Resolves with the first event (at or after `since`, default 0: past events count) that `match`
   * accepts. Rejects with `ERR_TESTKIT_TIMEOUT` after `timeoutMs` of real time (default 10 000).
   */
  waitForEvent<T extends BackendEvent = BackendEvent>(
    match: ((event: BackendEvent) => event is T) | ((event: BackendEvent) => boolean),
    options?: { readonly since?: number; readonly timeoutMs?: number; readonly signal?: AbortSignal },
  ): Promise<T>;
  /** Sends ClientReferral (as `PlayerRef.referToServer` does): the server does not close the connection. */
  referToServer(player: BackendPlayer | ClientUuid | string, target: { readonly host: string; readonly port: number; readonly data?: Uint8Array | undefined }): Promise<void>;
  /** Sends Disconnect(reason) and closes with code 0, as a kick does. */
  kick(player: BackendPlayer | ClientUuid | string, reason: string): Promise<void>;
  /** The player's connection hangs: nothing is read or sent, no timer fires, until {@link resume}. */
  stall(player: BackendPlayer | ClientUuid | string): void;
  resume(player: BackendPlayer | ClientUuid | string): void;
  /** The backend dies: every connection dropped at once without a Disconnect, the listener gone. */
  crash(): Promise<void>;
  /** Stops listening and kicks every player ("Server is shutting down!"). Idempotent. */
  close(): Promise<void>;
  /** Resolves once the backend is closed or crashed. */
  readonly closed: Promise<void>;
}

/** @internal what the backend hands each connection. */
export interface AcceptedConnection {
  readonly connection: Connection;
  /** One stream carries every channel (TCP). */
  readonly singleStream: boolean;
}
