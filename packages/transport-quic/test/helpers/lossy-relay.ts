import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';

/** A seeded PRNG (mulberry32): the same seed drops the same datagram numbers on every run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface LossyRelay {
  /** Dial this port on 127.0.0.1 instead of the listener's. */
  readonly port: number;
  /** Datagrams forwarded and dropped so far, per direction. */
  readonly counts: { toServer: { forwarded: number; dropped: number }; toClient: { forwarded: number; dropped: number } };
  /** Drops the next `n` datagrams going `direction`, whatever the drop rate says. */
  dropNext(direction: 'toServer' | 'toClient', n?: number): void;
  /** Forwards only the first `n` datagrams (in all) going `direction`, then drops every one. */
  forwardFirst(direction: 'toServer' | 'toClient', n: number): void;
  /** Changes the drop rate of both directions. */
  setDropRate(rate: number): void;
  close(): Promise<void>;
}

/**
 * A UDP relay to a local port that drops each datagram with probability `dropRate`, independently
 * in each direction, from a seeded PRNG; one upstream socket per downstream peer. `dropNext` drops
 * chosen datagrams exactly (to lose one particular packet).
 */
export async function lossyRelay(targetPort: number, options: { dropRate?: number; seed?: number } = {}): Promise<LossyRelay> {
  let dropRate = options.dropRate ?? 0;
  const random = seededRandom(options.seed ?? 1);
  const front = createSocket('udp4');
  const upstreams = new Map<string, Socket>();
  const counts = { toServer: { forwarded: 0, dropped: 0 }, toClient: { forwarded: 0, dropped: 0 } };
  const forced = { toServer: 0, toClient: 0 };
  const cutoff = { toServer: Infinity, toClient: Infinity };
  const drop = (direction: 'toServer' | 'toClient'): boolean => {
    if (counts[direction].forwarded >= cutoff[direction]) {
      counts[direction].dropped++;
      return true;
    }
    if (forced[direction] > 0) {
      forced[direction]--;
      counts[direction].dropped++;
      return true;
    }
    if (dropRate > 0 && random() < dropRate) {
      counts[direction].dropped++;
      return true;
    }
    counts[direction].forwarded++;
    return false;
  };
  front.on('message', (message: Buffer, from: RemoteInfo) => {
    const key = `${from.address}:${from.port}`;
    let upstream = upstreams.get(key);
    if (upstream === undefined) {
      const socket = createSocket('udp4');
      socket.on('message', (reply: Buffer) => {
        if (!drop('toClient')) front.send(reply, from.port, from.address);
      });
      socket.on('error', () => {});
      upstreams.set(key, socket);
      upstream = socket;
    }
    if (!drop('toServer')) upstream.send(message, targetPort, '127.0.0.1');
  });
  front.on('error', () => {});
  await new Promise<void>((resolve) => front.bind(0, '127.0.0.1', () => resolve()));
  return {
    port: front.address().port,
    counts,
    dropNext(direction, n = 1) {
      forced[direction] += n;
    },
    forwardFirst(direction, n) {
      cutoff[direction] = n;
    },
    setDropRate(rate) {
      dropRate = rate;
    },
    async close() {
      await Promise.all([front, ...upstreams.values()].map((socket) => new Promise<void>((resolve) => socket.close(() => resolve()))));
      upstreams.clear();
    },
  };
}
