/**
 * A synthetic generation: G3's packets and layouts, with Ping moved to id 3 and Pong to id 4 (as the
 * R4 registry has them) and a Connect CRC of its own. G3's Pong id is this generation's Ping id, so
 * anything that reads Pongs by a constant id (or G3's offsets) reads this generation's Pings as
 * Pongs; everything that reads through the generation's schema reads it right.
 */
import { Generation, Registry } from '@handoff/protocol';
import { G3 } from './frames.js';

const MOVED_IDS: Readonly<Record<string, number>> = { Ping: 3, Pong: 4 };

export const MOVED = new Generation(
  {
    id: 'G3-moved',
    registry: 'G3-moved',
    builds: [],
    alpn: [...G3.alpn],
    identify: { protocolCrc: 0x5e551017, protocolBuildNumber: 99 },
    serverUniStreams: [...G3.serverUniStreams],
    layouts: { Connect: 'ConnectV2', WorldLoadProgress: 'WorldLoadProgressV3' },
  },
  new Registry({
    table: 'G3-moved',
    versions: [],
    packets: G3.registry.packets.map((d) => ({
      id: MOVED_IDS[d.name] ?? d.id,
      name: d.name,
      direction: d.direction ?? null,
      channel: d.channel,
      fixedBlockSize: d.fixedBlockSize,
      maxSize: d.maxSize,
      compressed: d.compressed,
    })),
  }),
);
