/**
 * The seams between the parts of the kit: what the client side hands to a proxy session, and what a
 * backend link offers it. Each part is replaceable: anything that satisfies these interfaces plugs in.
 */
import type { Generation, WireFrame } from '@handoff/protocol';
import type { SessionRecord } from '@handoff/session';
import type { Address, Connection, DialInit, Transport } from '@handoff/transport';
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
}

/** One backend the proxy can join players to. */
export interface BackendConfig {
  readonly ref: BackendRef;
  readonly address: Address;
  /** `quic(...)` or `tcp(...)` (or any adapter of the transport contract). */
  readonly transport: Transport;
  /** Dial options for this backend (ALPN and certificates for QUIC, timeouts). */
  readonly dial?: Partial<Omit<DialInit, 'address'>> | undefined;
  /** The backend's server password, if it has one (the setup driver answers the challenge). */
  readonly password?: string | undefined;
}

/** How a backend link ended, as the transport saw it. */
export interface BackendEnd {
  /** `'proxy'`: the kit closed it (Cleanup, rollback, session end); `'backend'`: the backend closed it; `'transport'`: lost. */
  readonly initiator: 'proxy' | 'backend' | 'transport';
  readonly code?: number | undefined;
  readonly reason?: string | undefined;
}

/**
 * A connection to one backend on the player's behalf: Connect (with the ticket) already sent. Frames
 * from the backend come per client channel: `Default` from its bidi stream; `Chunks` and `WorldMap`
 * from the uni streams a G3 backend opens over QUIC (by order: first Chunks, then WorldMap), or
 * demultiplexed by packet id from the one stream of a TCP backend.
 */
export interface BackendLink {
  readonly backend: BackendRef;
  readonly connection: Connection;
  /** To the backend (its bidi stream). */
  readonly sink: FrameSink;
  /** The frames of one channel (ToClient); resolves once the backend opened it. */
  channel(name: ChannelName, options?: { readonly signal?: AbortSignal | undefined }): Promise<FrameSource>;
  /** Resolves once the link is closed, whoever closed it. Never rejects. */
  readonly ended: Promise<BackendEnd>;
  /** Closes the link (initiator `'proxy'`). */
  close(reason?: string): Promise<void>;
}

/** The frames of B held back for the cutover: B's JoinWorld and what B sent after it, per channel. */
export interface HeldWorld {
  readonly joinWorld: WireFrame;
  /** Frames B sent after its JoinWorld (in order per channel), to release right after the rewritten JoinWorld. */
  readonly queued: Readonly<Record<ChannelName, readonly WireFrame[]>>;
  /** Asset and `Update*` frames kept by an asset policy that forwards them after the cutover. */
  readonly assetsAfterCutover: readonly WireFrame[];
}
