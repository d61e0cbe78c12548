/**
 * Packet registries: what each generation's `PacketRegistry` knows about every id.
 * Built from `data/registries.json` (one table per generation; docs/protocol.md, "Registries").
 */
import type { Channel, PacketDescriptor, PacketDirection } from './descriptor.js';

export interface RegistryTableRow {
  readonly id: number;
  readonly name: string;
  readonly direction: string | null;
  readonly channel: string | null;
  readonly fixedBlockSize: number;
  readonly maxSize: number;
  readonly compressed: boolean;
}

export interface RegistryTable {
  readonly table: string;
  readonly versions: readonly string[];
  readonly packets: readonly RegistryTableRow[];
}

/** Lookups over one generation's packet table. Ids are unique across both directions. */
export class Registry {
  readonly name: string;
  /** Every descriptor, by ascending id. */
  readonly packets: readonly PacketDescriptor[];
  readonly #byId: (PacketDescriptor | undefined)[];
  readonly #byName: Map<string, PacketDescriptor>;

  constructor(table: RegistryTable) {
    this.name = table.table;
    const packets = table.packets
      .map(
        (row): PacketDescriptor =>
          Object.freeze({
            id: row.id,
            name: row.name,
            direction: (row.direction ?? undefined) as PacketDirection | undefined,
            channel: (row.channel ?? 'Default') as Channel,
            fixedBlockSize: row.fixedBlockSize,
            maxSize: row.maxSize,
            compressed: row.compressed,
          }),
      )
      .sort((a, b) => a.id - b.id);
    this.packets = Object.freeze(packets);
    this.#byId = [];
    this.#byName = new Map();
    for (const p of packets) {
      if (!Number.isInteger(p.id) || p.id < 0 || p.id > 0xffff) throw new Error(`registry ${this.name}: bad id ${p.id}`);
      if (this.#byId[p.id]) throw new Error(`registry ${this.name}: duplicate id ${p.id}`);
      if (this.#byName.has(p.name)) throw new Error(`registry ${this.name}: duplicate name ${p.name}`);
      this.#byId[p.id] = p;
      this.#byName.set(p.name, p);
    }
  }

  /** The descriptor of `id`, or `undefined` when this generation has no such packet. */
  byId(id: number): PacketDescriptor | undefined {
    return id >= 0 && id < this.#byId.length ? this.#byId[id] : undefined;
  }

  byName(name: string): PacketDescriptor | undefined {
    return this.#byName.get(name);
  }

  /** Whether a packet may travel in `direction` (registries without directions allow both). */
  static allows(descriptor: PacketDescriptor, direction: 'ToServer' | 'ToClient'): boolean {
    return descriptor.direction === undefined || descriptor.direction === 'Both' || descriptor.direction === direction;
  }
}
