/**
 * Accounting: was every packet the client sent delivered exactly once, in order, to exactly one
 * backend? Checked against the backends' own logs of what they received (the simulated backend's
 * `packetLog()`), matched by a digest of the whole frame.
 */
import type { BackendId, ClientUuid } from '@handoff/types';
import type { SimulatedBackend } from '../backend/types.js';
import type { ViolationDetails, ViolationKind } from './violations.js';

/** One packet a backend logged as received from this client (the simulated backend's `ReceivedPacket` fits). */
export interface LoggedPacket {
  readonly id: number;
  /** Digest of the whole frame (`frameDigest()`: SHA-256, base64url). */
  readonly digest: string;
}

/** What one backend received from this client. Build it with `deliveryLogOf(backend, clientUuid)` for a simulated backend. */
export interface DeliveryLog {
  /** The backend's id (`parseBackendId()` for a peer that is not a simulated backend). */
  readonly backend: BackendId;
  /** The world UUID this backend gives its players: lets the client check each Pong reached the backend of its Ping. */
  readonly worldUuid?: string | undefined;
  /** Every packet received from this client, in arrival order (over all its connections). */
  readonly packets: readonly LoggedPacket[];
  /** How many of this client's Pongs the backend refused (did not match the head of its queue). */
  readonly rejectedPongs?: number | undefined;
}

/**
 * What a simulated backend received from `clientUuid`, as a {@link DeliveryLog}: its packet log, its
 * world, and the Pongs it refused.
 */
export function deliveryLogOf(backend: SimulatedBackend, clientUuid: ClientUuid | string): DeliveryLog {
  const uuid = clientUuid.toLowerCase();
  return {
    backend: backend.id,
    worldUuid: backend.worldUuid,
    packets: backend.packetLog(uuid),
    rejectedPongs: backend.events.filter((event) => event.type === 'pong-mismatch' && event.clientUuid === uuid).length,
  };
}

/** Whether `source` is a simulated backend rather than a prepared log. */
export function isSimulatedBackend(source: DeliveryLog | SimulatedBackend): source is SimulatedBackend {
  return typeof (source as SimulatedBackend).packetLog === 'function';
}

/** A packet the client sent that must be accounted for. */
export interface SentPacket {
  /** Position among the accountable packets, from 0. */
  readonly index: number;
  readonly name: string;
  readonly id: number;
  readonly digest: string;
  /** The client connection it was sent on (1, 2, …). */
  readonly connection: number;
  /** The world (global index) the client was in when it sent it. */
  readonly world: number;
  /** For a Pong: which Ping it answers. */
  readonly pong?: {
    readonly pingId: number;
    readonly type: string;
    /** The world the Ping arrived in, and its UUID. */
    readonly pingWorld: number;
    readonly pingWorldUuid: string | undefined;
    /** The client left that world later (a later JoinWorld on the same connection). */
    readonly pingWorldLeft: boolean;
  };
}

/** Options of `StrictClient.account()`. */
export interface AccountOptions {
  /**
   * Packets that may go missing by a documented rule. Default: a Pong answering a Ping of a world the
   * client left afterwards (a proxy drops the old backend's Pongs during a migration).
   */
  readonly mayDrop?: (packet: SentPacket) => boolean;
}

/** A finding of the accounting, before it is stamped with where it happened. */
export type AccountingFinding = {
  [K in ViolationKind]: { readonly kind: K; readonly details: ViolationDetails[K]; readonly message: string; readonly sent?: SentPacket };
}[ViolationKind];

/** The default drop rule: a Pong for the Ping of a world the client has left. */
export function droppedByRule(packet: SentPacket): boolean {
  return packet.pong !== undefined && packet.pong.pingWorldLeft;
}

/**
 * Matches the sent packets against the logs. `switchesAllowed` is how many times delivery may move
 * from one backend to another (world changes plus reconnects).
 */
export function account(sent: readonly SentPacket[], logs: readonly DeliveryLog[], switchesAllowed: number, options: AccountOptions = {}): AccountingFinding[] {
  const findings: AccountingFinding[] = [];
  const mayDrop = options.mayDrop ?? droppedByRule;
  const byDigest = new Map<string, number[]>();
  for (const packet of sent) {
    const list = byDigest.get(packet.digest);
    if (list) list.push(packet.index);
    else byDigest.set(packet.digest, [packet.index]);
  }
  /** For each sent packet: the logs (by position) that received it, once per copy. */
  const deliveries: number[][] = sent.map(() => []);

  const preassigned = assignIdentical(logs, byDigest);

  logs.forEach((log, logIndex) => {
    let previous = -1;
    log.packets.forEach((packet, position) => {
      const candidates = byDigest.get(packet.digest);
      if (!candidates) return; // not from this client's accountable packets (e.g. a proxy's own setup)
      const free = (i: number): boolean => deliveries[i]!.length === 0;
      const planned = preassigned.get(logIndex)?.get(position);
      let chosen = planned !== undefined && planned > previous && free(planned) ? planned : candidates.find((i) => i > previous && free(i));
      let outOfOrder = false;
      if (chosen === undefined) {
        chosen = candidates.find(free);
        if (chosen !== undefined) outOfOrder = true;
      }
      // every copy is taken: a duplicate of the nearest one
      chosen ??= candidates.find((i) => i > previous) ?? candidates[candidates.length - 1]!;
      deliveries[chosen]!.push(logIndex);
      const packetSent = sent[chosen]!;
      if (outOfOrder) {
        findings.push({
          kind: 'reordered-packet',
          details: { packet: packetSent.name, index: chosen, backend: log.backend },
          message: `${packetSent.name} #${chosen} reached ${log.backend} after a packet sent later`,
          sent: packetSent,
        });
      }
      previous = Math.max(previous, chosen);
    });
    if (log.rejectedPongs) {
      findings.push({
        kind: 'rejected-pong',
        details: { backend: log.backend, count: log.rejectedPongs },
        message: `${log.backend} refused ${log.rejectedPongs} Pong(s) that did not match its Ping queue`,
      });
    }
  });

  let lastBackend: number | undefined;
  let switches = 0;
  for (const packet of sent) {
    const copies = deliveries[packet.index]!;
    if (copies.length === 0) {
      if (mayDrop(packet)) continue;
      if (packet.pong) {
        findings.push({
          kind: 'unanswered-ping',
          details: { pingId: packet.pong.pingId, pongType: packet.pong.type, pingWorld: packet.pong.pingWorld },
          message: `the ${packet.pong.type} Pong for Ping ${packet.pong.pingId} (world ${packet.pong.pingWorld}) reached no backend`,
          sent: packet,
        });
      } else {
        findings.push({
          kind: 'lost-packet',
          details: { packet: packet.name, index: packet.index },
          message: `${packet.name} #${packet.index} reached no backend`,
          sent: packet,
        });
      }
      continue;
    }
    if (copies.length > 1) {
      const backends = [...new Set(copies.map((i) => logs[i]!.backend))];
      findings.push({
        kind: 'duplicated-packet',
        details: { packet: packet.name, index: packet.index, copies: copies.length, backends },
        message: `${packet.name} #${packet.index} was delivered ${copies.length} times (${backends.join(', ')})`,
        sent: packet,
      });
    }
    const pong = packet.pong;
    if (pong?.pingWorldUuid !== undefined) {
      for (const logIndex of copies) {
        const log = logs[logIndex]!;
        if (log.worldUuid !== undefined && log.worldUuid !== pong.pingWorldUuid) {
          findings.push({
            kind: 'misrouted-pong',
            details: { pingId: pong.pingId, pongType: pong.type, backend: log.backend },
            message: `the ${pong.type} Pong for Ping ${pong.pingId} reached ${log.backend}, not the backend that sent the Ping`,
            sent: packet,
          });
        }
      }
    }
    const backend = copies[0]!;
    if (lastBackend !== undefined && backend !== lastBackend) {
      switches += 1;
      if (switches > switchesAllowed) {
        findings.push({
          kind: 'reordered-packet',
          details: { packet: packet.name, index: packet.index, backend: logs[backend]!.backend },
          message: `${packet.name} #${packet.index} went to ${logs[backend]!.backend} while earlier and later packets went elsewhere (delivery switched backends ${switches} times for ${switchesAllowed} world changes)`,
          sent: packet,
        });
      }
    }
    lastBackend = backend;
  }
  return findings;
}

/**
 * Where each copy of an identical frame (a ClientReady per world: the same bytes each time) was
 * delivered. Within one log, packets arrive in the order they were sent, so a copy lies between the
 * nearest packets around it whose frames are unique (anchors). The copies of every log are matched to
 * the sent packets by earliest window end first, each to the smallest free candidate inside its
 * window and in order within its own log: a later visit to a backend does not take the copy another
 * backend received in between. Returns, per log, position → sent index.
 */
function assignIdentical(logs: readonly DeliveryLog[], byDigest: ReadonlyMap<string, number[]>): Map<number, Map<number, number>> {
  interface Copy {
    readonly log: number;
    readonly position: number;
    readonly lower: number;
    readonly upper: number;
    readonly candidates: readonly number[];
  }
  const copies: Copy[] = [];
  logs.forEach((log, logIndex) => {
    const anchors = log.packets.map((p) => {
      const c = byDigest.get(p.digest);
      return c !== undefined && c.length === 1 ? c[0]! : undefined;
    });
    const lowers: number[] = [];
    let lower = -1;
    for (let i = 0; i < anchors.length; i++) {
      lowers.push(lower);
      if (anchors[i] !== undefined) lower = Math.max(lower, anchors[i]!);
    }
    let upper = Infinity;
    for (let i = anchors.length - 1; i >= 0; i--) {
      const candidates = byDigest.get(log.packets[i]!.digest);
      if (candidates !== undefined && candidates.length > 1) copies.push({ log: logIndex, position: i, lower: lowers[i]!, upper, candidates });
      if (anchors[i] !== undefined) upper = Math.min(upper, anchors[i]!);
    }
  });
  copies.sort((x, y) => x.upper - y.upper || x.log - y.log || x.position - y.position);
  const taken = new Set<number>();
  const assigned = new Map<number, Map<number, number>>();
  for (const copy of copies) {
    const own = assigned.get(copy.log) ?? new Map<number, number>();
    let lower = copy.lower;
    let upper = copy.upper;
    for (const [position, index] of own) {
      if (position < copy.position) lower = Math.max(lower, index);
      else upper = Math.min(upper, index);
    }
    const pick = copy.candidates.find((i) => i > lower && i < upper && !taken.has(i));
    if (pick === undefined) continue; // the sequential pass decides (and reports what does not fit)
    taken.add(pick);
    own.set(copy.position, pick);
    assigned.set(copy.log, own);
  }
  return assigned;
}
