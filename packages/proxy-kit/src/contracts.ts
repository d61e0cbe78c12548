/**
 * The seams between the parts of the kit: what the client side hands to a proxy session, and what a
 * backend link offers it. Each part is replaceable: anything that satisfies these interfaces plugs in.
 */
import type { Generation, WireFrame } from '@handoff/protocol';
import type { CaptureTap, SessionRecord } from '@handoff/session';
import type { Address, Connection, DialInit, ListenInit, Transport } from '@handoff/transport';
import type { BackendRef, ClientUuid } from '@handoff/types';
import type { FrameSink, FrameSource } from './frames.js';

/** The logical channels of a Hytale connection (G3 has all three; older generations only `Default`). */
export type ChannelName = 'Default' | 'Chunks' | 'WorldMap';

/**
 * A client the proxy accepted as a Hytale server would: its Connect read and checked, its generation
 * known, client auth done (or development mode), the proxy's own password (if any) answered. The
 * client now waits for setup (WorldSettings…), which the first backend provides through the session.
 */
export interface AcceptedClient {
  readonly connection: Connection;
  readonly generation: Generation;
  readonly clientUuid: ClientUuid;
  readonly username: string;
  /** Whether client auth ran (false in development mode: the Connect's uuid and username were trusted). */
  readonly authenticated: boolean;
  /**
   * The player's session record, with everything the handshake showed the capture tap (the Connect,
   * its identity token as a secret, the auth secrets). The session keeps tapping it.
   */
  readonly record: SessionRecord;
  /** The client's frames after the handshake (its bidi stream, Default channel, ToServer). */
  readonly frames: FrameSource;
  /** Frames to the client on its bidi stream (Default channel). */
  readonly sink: FrameSink;
  /**
   * The capture tap the handshake fed (every frame both ways, so the record holds the Connect and the
   * auth secrets). Keep feeding it: `tap.clientToServer(frame)` for each client frame, and
   * `tap.serverToClient(frame, backend)` for each frame written to the client.
   */
  readonly tap: CaptureTap;
  /** SHA-256 of the client's certificate, base64url (`cnf.x5t#S256` form); `undefined` without TLS. */
  readonly certificateFingerprint: string | undefined;
  /**
   * Disconnects the client as the server kicks a player: `Disconnect(reason)`, then the close with
   * code 0. Resolves once closed; the client's `frames` then end. Counts nothing (the proxy decided it).
   */
  disconnect(reason: string): Promise<void>;
}

/**
 * One backend the proxy can join players to. `D` is the transport's dial options, so a QUIC backend's
 * `dial` takes `serverTrust` and the proxy's client `certificate` (`BackendConfig<QuicDialInit>`); any
 * config is a `BackendConfig`.
 */
export interface BackendConfig<D extends DialInit = DialInit> {
  readonly ref: BackendRef;
  readonly address: Address;
  /** `quic(...)` or `tcp(...)` (or any adapter of the transport contract). */
  readonly transport: Transport<ListenInit, D>;
  /**
   * Dial options for this backend (certificates for QUIC, timeouts). Without `alpn` the connector
   * offers the generation's (`hytale/2` for G2 and later, `hytale/1` for G1).
   */
  readonly dial?: Partial<Omit<D, 'address'>> | undefined;
  /** The backend's server password, if it has one (the setup driver answers the challenge). */
  readonly password?: string | undefined;
  /**
   * Forward the client's identity token in the `Connect` (default true), so that a plugin on the
   * backend may check the player's identity itself. An insecure-mode backend ignores it.
   */
  readonly forwardIdentityToken?: boolean | undefined;
}

/** How a backend link ended, as the transport saw it. */
export interface BackendEnd {
  /** `'proxy'`: the kit closed it (Cleanup, rollback, session end); `'backend'`: the backend closed it; `'transport'`: lost. */
  readonly initiator: 'proxy' | 'backend' | 'transport';
  readonly code?: number | undefined;
  readonly reason?: string | undefined;
  /** The `Disconnect` the backend sent on its main stream before the end, if one was read (a kick, a refusal). */
  readonly disconnect?: { readonly reason: string | null; readonly type: 'Disconnect' | 'Crash' } | undefined;
}

/**
 * A connection to one backend on the player's behalf: Connect (with the ticket) already sent. Frames
 * from the backend come per client channel: `Default` from its bidi stream; `Chunks` and `WorldMap`
 * from the uni streams a G3 backend opens over QUIC (by order: first Chunks, then WorldMap), or
 * demultiplexed by packet id from the one stream of a TCP backend.
 */
export interface BackendLink {
  readonly backend: BackendRef;
  /** The protocol generation spoken with the backend (the client's). */
  readonly generation: Generation;
  readonly connection: Connection;
  /** To the backend (its bidi stream). */
  readonly sink: FrameSink;
  /** The frames of one channel (ToClient); resolves once the backend opened it. */
  channel(name: ChannelName, options?: { readonly signal?: AbortSignal | undefined }): Promise<FrameSource>;
  /** Resolves once the link is closed, whoever closed it. Never rejects. */
  readonly ended: Promise<BackendEnd>;
  /** Closes the link (initiator `'proxy'`). */
  close(reason?: string): Promise<void>;
  /**
   * Puts frames back at the head of a channel, in order, ahead of anything not yet read: the setup
   * driver hands back the first frame past the handshake (B's `WorldSettings`) so that whoever reads
   * the channel next gets it.
   */
  unread(channel: ChannelName, frames: readonly WireFrame[]): void;
}

/** The frames of B held back for the cutover: B's JoinWorld and what B sent after it, per channel. */
export interface HeldWorld {
  /**
   * What B sent between the end of setup and its JoinWorld that is meant for the client (its
   * `AddToServerPlayerList`, its `ServerTags`…), in order: release it before the rewritten JoinWorld.
   */
  readonly beforeJoin: readonly WireFrame[];
  readonly joinWorld: WireFrame;
  /**
   * Frames B sent after its JoinWorld (in order per channel) that were read before the hold ended, to
   * release right after the rewritten JoinWorld. The setup driver stops reading at the JoinWorld, so
   * what B sends later stays unread in the link's channels (the transport's flow control holds it)
   * and is forwarded from there once these are released.
   */
  readonly queued: Readonly<Record<ChannelName, readonly WireFrame[]>>;
  /** Asset and `Update*` frames kept by an asset policy that forwards them after the cutover. */
  readonly assetsAfterCutover: readonly WireFrame[];
}
