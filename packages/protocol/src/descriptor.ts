/**
 * What the registry of a generation knows about one packet id.
 */

/** The direction a packet travels, as the G3 registry names it. `undefined` where a registry did not say. */
export type PacketDirection = 'ToServer' | 'ToClient' | 'Both';

/**
 * The logical channel (G3 QUIC stream) a packet travels on. `Default` is the bidirectional stream;
 * `Chunks` and `WorldMap` are the server-opened uni streams. Later builds add more (`Voice`).
 */
export type Channel = 'Default' | 'Chunks' | 'WorldMap' | (string & {});

export interface PacketDescriptor {
  readonly id: number;
  readonly name: string;
  /** `undefined` before G3: those registries carried no direction. */
  readonly direction: PacketDirection | undefined;
  /** `Default` wherever the registry carried no channel. */
  readonly channel: Channel;
  /** Size of the fixed block, offset slots excluded (from the registry). */
  readonly fixedBlockSize: number;
  /** Largest valid payload, uncompressed. Frames declaring more are rejected before buffering. */
  readonly maxSize: number;
  /** Whether the payload is one zstd frame on the wire. */
  readonly compressed: boolean;
}
