/**
 * A generation over the `R4` registry table the package ships without a generation entry (its
 * Connect CRC and layouts are unverified). Its Ping has id 3 and its Pong id 4, where G1–G3 have
 * 2 and 3: whatever reads packets by a constant id or offset reads the wrong packet here.
 */
import { Generation, Registry, type RegistryTable } from '@handoff/protocol';
import registries from '../../data/registries.json';

const table = (registries as unknown as { tables: RegistryTable[] }).tables.find((t) => t.table === 'R4')!;

export const R4 = new Generation(
  {
    id: 'R4',
    registry: 'R4',
    builds: [],
    alpn: ['hytale/2'],
    identify: { protocolCrc: 1080406952, protocolBuildNumber: 51 },
    serverUniStreams: ['Chunks', 'WorldMap'],
    layouts: { Connect: 'ConnectV2', WorldLoadProgress: 'WorldLoadProgressV3' },
  },
  new Registry(table),
);
