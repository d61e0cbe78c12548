/**
 * An existing per-player forwarding loop — the proxy author's own: it reads each backend channel and
 * writes to the client, reads the client and writes to its backend — with the migration embedded
 * from the kit's lower-level pieces instead of `createProxySession`:
 *
 * - the **migrator** (`createMigrator`, `@handoff/migration`) with the loop's steps, built from the
 *   kit's **connector** (`connectBackend`), **setup driver** (`createSetupDriver`) and **cutover**
 *   frames (`cleanupWrites`, `rewriteJoinWorld`);
 * - a **gate** per backend→client channel (`migrator.gate()` through `forwardThroughGate`), so the
 *   cutover stops A's frames at a frame boundary;
 * - the **rule for client frames**: the capture tap records the frame; the migrator routes it
 *   (`migrator.clientFrame`: forward, buffered, hold or drop); a Pong goes only to the backend whose
 *   Ping it answers; after the cut and until the client's ClientReady reached B, a frame sent in A's
 *   world is decided by the drain policy. Every drop is counted under its rule.
 *
 * What `createProxySession` adds on top (kicks, referrals, failover, packet hooks, traces, the
 * directory) is left out: this is the part a loop of one's own needs for a seamless move.
 */
import { createDrainPolicy, createMigrator, forwardThroughGate, type DrainPolicy, type MigrationResult, type MigrationSteps, type Migrator } from '@handoff/migration';
import type { WireFrame } from '@handoff/protocol';
import {
  cleanupWrites,
  connectBackend,
  createSetupDriver,
  frameSink,
  rewriteJoinWorld,
  type AcceptedClient,
  type BackendConfig,
  type BackendLink,
  type ChannelName,
  type FrameSink,
  type FrameSource,
  type HeldWorld,
  type SetupDriver,
  type TicketPolicy,
} from '@handoff/proxy-kit';
import type { Address } from '@handoff/transport';
import type { BackendId, BackendRef } from '@handoff/types';

/** What the loop needs besides the client and its first backend. */
export interface PlayerLoopInit {
  readonly backends: readonly BackendConfig[];
  readonly tickets: TicketPolicy;
  /** The proxy's address as backends see it (the Connects' `referralSource`). */
  readonly proxyAddress: Address;
}

/** The migration in flight, as the loop's steps share it. */
interface Target {
  readonly config: BackendConfig;
  link?: BackendLink;
  driver?: SetupDriver;
  held?: HeldWorld;
  /** The cut happened: the client is in B's world. */
  cut: boolean;
  /** The client's ClientReady reached B: what it sends from now on belongs to B's world. */
  readonly ready: { promise: Promise<void>; resolve: () => void; reached: boolean };
}

export class PlayerLoop {
  readonly migrator: Migrator<WireFrame>;
  /** Client frames that went nowhere, by rule. */
  readonly dropped: Record<string, number> = {};
  readonly #client: AcceptedClient;
  readonly #init: PlayerLoopInit;
  readonly #links = new Map<BackendId, BackendLink>();
  readonly #channels: readonly ChannelName[];
  readonly #uni = new Map<ChannelName, FrameSink>();
  #uniOpen: Promise<void> | undefined;
  #target: Target | undefined;
  readonly #drain: DrainPolicy<WireFrame>;
  /** Resolves once the client left and everything is closed. */
  readonly done: Promise<void>;

  constructor(client: AcceptedClient, first: BackendLink, init: PlayerLoopInit) {
    this.#client = client;
    this.#init = init;
    this.#channels = ['Default', ...(client.generation.serverUniStreams as ChannelName[])];
    // one policy for the buffer's drain and for the frames after it: the ping ledger tells A's Pongs apart
    this.#drain = createDrainPolicy<WireFrame>({ isSourcePong: client.record.pings.isSourcePong });
    this.migrator = createMigrator<WireFrame>({
      session: client.record.ref,
      backend: first.backend,
      steps: this.#steps(),
      drainPolicy: this.#drain,
      onBufferSettled: (entry) => entry.fate === 'dropped' && this.#count(entry.rule ?? 'dropped'),
    });
    client.record.setBackend(first.backend);
    this.#links.set(first.backend.id, first);
    this.#forward(first);
    this.done = this.#runClient();
  }

  /** Moves the player to the backend `id`; the record keeps the outcome (its backend, its history). */
  async migrate(id: string): Promise<MigrationResult> {
    const config = this.#init.backends.find((b) => b.ref.id === id);
    if (!config) throw new Error(`no backend ${id}`);
    const result = await this.migrator.migrate({ target: config.ref, trigger: 'api' });
    if (result.kind !== 'refused') {
      const failed = result.kind === 'migrated' ? {} : { phase: result.phase, reason: result.reason.code };
      this.#client.record.recordMigration({ migrationId: result.migrationId, source: result.source, target: result.target, outcome: result.kind, ...failed });
    }
    return result;
  }

  // ------------------------------------------------------------- backend → client, one loop per channel

  #forward(link: BackendLink, queued?: HeldWorld['queued']): void {
    for (const channel of this.#channels) {
      // a gate made now belongs to this backend: the next migration's cutover closes it between two frames
      const gate = this.migrator.gate(`${link.backend.id}/${channel}`);
      const write = async (frame: WireFrame): Promise<void> => {
        this.#client.tap.serverToClient(frame, link.backend.id);
        await this.#toClient(channel, frame.bytes);
      };
      void (async () => {
        const source = await link.channel(channel);
        await forwardThroughGate(this.#frames(source, queued?.[channel] ?? []), gate, write);
      })().catch(() => gate.end()); // the link or the client went away: this channel is done
    }
  }

  /** The frames of one channel: those the cutover held first, then the link's, read only when asked (and never while a migration hook runs). */
  async *#frames(source: FrameSource, held: readonly WireFrame[]): AsyncGenerator<WireFrame> {
    yield* held;
    for (;;) {
      if (this.migrator.backendReads.paused) await this.migrator.backendReads.whenReadable();
      const frame = await source.next();
      if (frame === null) return;
      yield frame;
    }
  }

  async #toClient(channel: ChannelName, bytes: Uint8Array): Promise<void> {
    if (channel === 'Default') return this.#client.sink.write(bytes);
    await this.#openUni(); // G3: the uni streams a server opens at the client's PlayerOptions
    await this.#uni.get(channel)!.write(bytes);
  }

  /** Opens the client's uni streams once, in the order the client names them (Chunks, then WorldMap). */
  #openUni(): Promise<void> {
    this.#uniOpen ??= (async () => {
      for (const channel of this.#channels.slice(1)) {
        const stream = await this.#client.connection.openStream({ kind: 'uni', channel });
        this.#uni.set(channel, frameSink(stream.writable));
      }
    })();
    return this.#uniOpen;
  }

  // ------------------------------------------------------------- client → backend: the one rule

  async #runClient(): Promise<void> {
    try {
      for (let frame; (frame = await this.#client.frames.next()); ) {
        const tapped = this.#client.tap.clientToServer(frame); // (1) the record, in the client's order
        const pongFor = tapped?.kind === 'pong' ? (tapped.backendId ?? null) : undefined;
        if (frame.descriptor.name === 'PlayerOptions') await this.#openUni();
        await this.#route(frame, pongFor); // (2) where it goes
      }
    } catch {
      // bad bytes from the client (`client.frames` closed it the server's way), or its backend went away
    } finally {
      this.migrator.stop();
      await Promise.all([...this.#links.values(), this.#target?.link].map((link) => link?.close('Player left').catch(() => {})));
      await Promise.all([...this.#uni.values()].map((sink) => sink.close().catch(() => {})));
      await this.#client.connection.close({ code: 0 }).catch(() => {});
    }
  }

  async #route(frame: WireFrame, pongFor: string | null | undefined): Promise<void> {
    for (;;) {
      const route = this.migrator.clientFrame(frame);
      if (route.action === 'buffered') return; // Freeze until the drain: the drain policy decides later
      if (route.action === 'drop') return this.#count(route.rule);
      if (route.action === 'hold') {
        await route.until; // the buffer is full: stop reading the client, then route the same frame again
        continue;
      }
      if (pongFor !== undefined && pongFor !== route.backend.id) return this.#count(pongFor === null ? 'pong-unmatched' : 'pong-for-other-backend');
      const rule = this.#sentInOldWorld(frame, route.backend);
      if (rule !== undefined) return this.#count(rule);
      const link = this.#links.get(route.backend.id);
      if (!link) return this.#count('backend-gone');
      await link.sink.write(frame.bytes);
      if (frame.descriptor.name === 'ClientReady') this.#readyAt(route.backend);
      return;
    }
  }

  /** After the cut, before the client's ClientReady reached B: the frame was sent in A's world. */
  #sentInOldWorld(frame: WireFrame, backend: BackendRef): string | undefined {
    const target = this.#target;
    if (!target?.cut || target.ready.reached || target.config.ref.id !== backend.id) return undefined;
    const decision = this.#drain.decide(frame, { afterClientReady: false, source: this.migrator.backend, target: target.config.ref });
    return decision.action === 'drop' ? decision.rule : undefined;
  }

  #readyAt(backend: BackendRef): void {
    const target = this.#target;
    if (target?.cut && target.config.ref.id === backend.id && !target.ready.reached) {
      target.ready.reached = true;
      target.ready.resolve();
    }
  }

  #count(rule: string): void {
    this.dropped[rule] = (this.dropped[rule] ?? 0) + 1;
  }

  // ------------------------------------------------------------- the migration's steps

  #steps(): MigrationSteps<WireFrame> {
    const record = this.#client.record;
    const g = this.#client.generation;
    const target = (): Target => this.#target!;
    return {
      prepare: async ({ migration, signal }) => {
        const config = this.#init.backends.find((b) => b.ref.id === migration.target.id)!;
        let resolve!: () => void;
        const promise = new Promise<void>((r) => (resolve = r));
        this.#target = { config, cut: false, ready: { promise, resolve, reached: false } };
        const ticket = await this.#init.tickets.issue({ clientUuid: this.#client.clientUuid, sessionId: record.id, target: config.ref }, { signal });
        target().link = await connectBackend(config, { record, ticket, proxyAddress: this.#init.proxyAddress, signal });
      },
      auth: async ({ signal }) => {
        const t = target();
        t.driver = createSetupDriver({ link: t.link!, record, password: t.config.password, reads: this.migrator.backendReads });
        await t.driver.auth({ signal }); // B's ConnectAccept, its password, its acceptance of the ticket
      },
      sync: async ({ signal }) => {
        target().held = await target().driver!.sync({ signal }); // the client's setup replayed; B's JoinWorld held
      },
      cutover: async () => {
        const t = target();
        const held = t.held!;
        const b = t.link!;
        for (const write of cleanupWrites(record, g).writes) {
          for (const frame of write.frames) {
            this.#client.tap.serverToClient(frame, this.migrator.backend.id);
            await this.#toClient(write.channel, frame.bytes);
          }
        }
        record.forgetWorld();
        for (const frame of [...held.beforeJoin, rewriteJoinWorld(held.joinWorld, g), ...held.assetsAfterCutover]) {
          this.#client.tap.serverToClient(frame, b.backend.id);
          await this.#toClient('Default', frame.bytes);
        }
        t.cut = true;
        this.#links.set(b.backend.id, b);
        this.#forward(b, held.queued); // gates made after the cut: B's
      },
      resume: async ({ signal }) => {
        const ready = target().ready.promise;
        await new Promise<void>((resolve, reject) => {
          signal.addEventListener('abort', () => reject(signal.reason), { once: true });
          void ready.then(resolve);
        });
      },
      cleanup: async ({ migration }) => {
        const source = this.#links.get(migration.source.id);
        this.#links.delete(migration.source.id);
        this.#target = undefined;
        await source?.close('Player moved to another server');
      },
      sendToSource: async (frame, { migration }) => {
        await this.#links.get(migration.source.id)!.sink.write(frame.bytes);
      },
      sendToTarget: async (frame) => {
        await target().link!.sink.write(frame.bytes);
        if (frame.descriptor.name === 'ClientReady') this.#readyAt(target().config.ref);
      },
      closeTarget: async () => {
        await this.#target?.link?.close('Migration rolled back');
        this.#target = undefined;
      },
      sendDisconnect: async (ctx) => {
        await this.#client.disconnect(ctx.message ?? 'Server transfer failed');
      },
    };
  }
}
