import type { StreamKind } from './stream.js';

/**
 * A Hytale logical channel (the server's `NetworkChannel`, G3; docs/transports.md, "What the Hytale
 * server does on the wire › Streams and channels"). Open union: later builds may add channels, so any
 * string is accepted while the known names still autocomplete.
 */
export type Channel = 'Default' | 'Chunks' | 'WorldMap' | (string & {});

/** The channels G3 servers use, in the order a server opens its uni streams after `Default`. */
export const Channels = {
  Default: 'Default',
  Chunks: 'Chunks',
  WorldMap: 'WorldMap',
} as const;

/**
 * The order in which a G3 server opens its unidirectional streams (`Universe.addPlayer`: Chunks, then
 * WorldMap). Nothing on the wire names the channel, so the order is the only way to tell them apart;
 * see docs/transports.md, "Streams and channels".
 */
const UNI_ORDER: readonly Channel[] = [Channels.Chunks, Channels.WorldMap];

/**
 * The channel of a stream the *peer* opened, by Hytale's convention: no in-band identifier exists,
 * so a bidirectional stream is `Default` and the n-th (0-based) unidirectional stream the peer
 * opened is `Chunks`, then `WorldMap`; later ones are unknown (`undefined`). Adapters use this so
 * that every transport labels incoming streams the same way.
 */
export function inferChannel(kind: StreamKind, remoteIndex: number): Channel | undefined {
  if (kind === 'bidi') return Channels.Default;
  return UNI_ORDER[remoteIndex];
}
