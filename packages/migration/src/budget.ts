import { MigrationError } from './errors.js';

export interface BufferLimits {
  /** Most client packets held at once. */
  readonly maxPackets: number;
  /** Most bytes (whole frames) held at once. */
  readonly maxBytes: number;
}

/** Per-migration default: about 10 s of a busy client, far more than a Freeze needs. */
export const defaultBufferLimits: BufferLimits = Object.freeze({ maxPackets: 1024, maxBytes: 1024 * 1024 });

/** Default of the process-wide budget shared by every migrator that is not given one. */
export const defaultGlobalLimits: BufferLimits = Object.freeze({ maxPackets: 262_144, maxBytes: 64 * 1024 * 1024 });

export interface BudgetUsage {
  readonly packets: number;
  readonly bytes: number;
  readonly limits: BufferLimits;
}

/**
 * One budget shared by every concurrent migration (pass the same object to every migrator of a
 * proxy). Buffers reserve before they hold a packet and release when it leaves.
 */
export class BufferBudget {
  readonly limits: BufferLimits;
  #packets = 0;
  #bytes = 0;

  constructor(limits: Partial<BufferLimits> = {}) {
    this.limits = checkLimits({ ...defaultGlobalLimits, ...limits });
  }

  /** Reserves room for `packets`/`bytes`; false (and nothing reserved) when either bound would be crossed. */
  tryReserve(packets: number, bytes: number): 'ok' | 'packets' | 'bytes' {
    if (this.#packets + packets > this.limits.maxPackets) return 'packets';
    if (this.#bytes + bytes > this.limits.maxBytes) return 'bytes';
    this.#packets += packets;
    this.#bytes += bytes;
    return 'ok';
  }

  release(packets: number, bytes: number): void {
    this.#packets = Math.max(0, this.#packets - packets);
    this.#bytes = Math.max(0, this.#bytes - bytes);
  }

  usage(): BudgetUsage {
    return { packets: this.#packets, bytes: this.#bytes, limits: this.limits };
  }
}

/** The budget used by migrators created without one: one per process (module instance). */
export const sharedBufferBudget = new BufferBudget();

export function checkLimits(limits: BufferLimits): BufferLimits {
  for (const [name, value] of Object.entries(limits)) {
    if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
      throw new MigrationError('ERR_MIGRATION_CONFIG', `buffer limit "${name}" must be a positive integer`);
    }
  }
  return Object.freeze({ maxPackets: limits.maxPackets, maxBytes: limits.maxBytes });
}
