/**
 * Draining a backend: every player on it is moved elsewhere, at most `rate` migrations started per
 * second, so that the backend can be restarted without a player noticing. The schedule runs on a
 * `ClientClock` (the kit's time source; tests pass a manual clock): one migration starts at once,
 * then one every `1000 / rate` ms, never two in the same slot.
 */
import type { ClientClock, ClientClockTimer, MigrationTrigger, ProxyMigrationResult } from '@handoff/proxy-kit';
import type { BackendId, BackendRef, ClientUuid, Logger, Phase } from '@handoff/types';

/** The part of a proxy session a drain uses. */
export interface DrainablePlayer {
  readonly clientUuid: ClientUuid;
  readonly backend: BackendRef;
  readonly phase: Phase;
  readonly isClosed: boolean;
  migrate(target: BackendRef, options: { readonly trigger: MigrationTrigger }): Promise<ProxyMigrationResult>;
}

/** Where a drain stands (JSON-safe). */
export interface DrainStatus {
  readonly backend: BackendId;
  /** The pool or backend players are sent to. */
  readonly to: string;
  /** Migrations started per second, at most. */
  readonly rate: number;
  /** `running`; `done` once no player is left on the backend (or every one left failed too often); `stopped` by the operator or the shutdown. */
  readonly state: 'running' | 'done' | 'stopped';
  readonly startedAt: string;
  readonly endedAt: string | null;
  /** Migrations started. */
  readonly started: number;
  readonly moved: number;
  readonly failed: number;
  /** Players still on the backend. */
  readonly remaining: number;
  /** Players left on the backend after `maxAttempts` failed migrations each. */
  readonly givenUp: number;
  /** Failed migrations by outcome (`rolled-back:ERR_MIGRATION_DEADLINE`, `refused:pool-disabled`, `no-target`…). */
  readonly failures: Readonly<Record<string, number>>;
}

/** Options of {@link startDrain}. */
export interface DrainInit {
  readonly backend: BackendId;
  readonly to: string;
  /** Migrations started per second (> 0). */
  readonly rate: number;
  readonly clock: ClientClock;
  /** The players on the backend now. */
  players(): Iterable<DrainablePlayer>;
  /** A target in `to` for one player (never the drained backend); `undefined` when none is available. */
  chooseTarget(to: string): BackendRef | undefined;
  /** Migrations tried per player before it is left on the backend (default 3). */
  readonly maxAttempts?: number | undefined;
  /** Called on each migration's result. */
  readonly onResult?: ((result: ProxyMigrationResult | { readonly kind: 'no-target' }) => void) | undefined;
  readonly logger?: Logger | undefined;
}

/** A running drain. */
export interface Drain {
  status(): DrainStatus;
  /** Resolves once the drain is done or stopped, with its last status. */
  readonly finished: Promise<DrainStatus>;
  /** Stops starting migrations (those in flight go on). */
  stop(): void;
}

function failureKey(result: ProxyMigrationResult): string {
  if (result.kind === 'refused') return `refused:${result.refusal}`;
  if (result.kind === 'migrated') return 'migrated';
  return `${result.kind}:${result.reason.code}`;
}

/** Starts draining; the first migration starts at once (synchronously scheduled on `clock`). */
export function startDrain(init: DrainInit): Drain {
  if (!(init.rate > 0) || !Number.isFinite(init.rate)) throw new RangeError('rate must be a positive number of players per second');
  const interval = 1000 / init.rate;
  const maxAttempts = init.maxAttempts ?? 3;
  const startedAt = new Date(init.clock.now()).toISOString();
  const attempts = new Map<ClientUuid, number>();
  const inFlight = new Set<ClientUuid>();
  const failures: Record<string, number> = {};
  let started = 0;
  let moved = 0;
  let failed = 0;
  let state: DrainStatus['state'] = 'running';
  let endedAt: string | null = null;
  let timer: ClientClockTimer | undefined;
  let resolveFinished!: (status: DrainStatus) => void;
  const finished = new Promise<DrainStatus>((resolve) => (resolveFinished = resolve));

  const onBackend = (): DrainablePlayer[] => [...init.players()].filter((p) => !p.isClosed && p.backend.id === init.backend);

  const status = (): DrainStatus => {
    const left = onBackend();
    return {
      backend: init.backend,
      to: init.to,
      rate: init.rate,
      state,
      startedAt,
      endedAt,
      started,
      moved,
      failed,
      remaining: left.length,
      givenUp: left.filter((p) => (attempts.get(p.clientUuid) ?? 0) >= maxAttempts).length,
      failures: { ...failures },
    };
  };

  const end = (final: 'done' | 'stopped'): void => {
    if (state !== 'running') return;
    state = final;
    endedAt = new Date(init.clock.now()).toISOString();
    timer?.cancel();
    timer = undefined;
    const last = status();
    init.logger?.info?.({ drain: last }, final === 'done' ? 'drain done' : 'drain stopped');
    resolveFinished(last);
  };

  const fail = (key: string): void => {
    failed += 1;
    failures[key] = (failures[key] ?? 0) + 1;
  };

  const tick = (): void => {
    timer = undefined;
    if (state !== 'running') return;
    const players = onBackend();
    const movable = players.filter((p) => p.phase === 'Idle' && !inFlight.has(p.clientUuid) && (attempts.get(p.clientUuid) ?? 0) < maxAttempts);
    if (movable.length === 0) {
      // nothing to start in this slot: done when nobody is left to move and nothing is in flight
      const waiting = players.some((p) => (attempts.get(p.clientUuid) ?? 0) < maxAttempts);
      if (!waiting && inFlight.size === 0) {
        end('done');
        return;
      }
    } else {
      const player = movable[0]!;
      attempts.set(player.clientUuid, (attempts.get(player.clientUuid) ?? 0) + 1);
      const target = init.chooseTarget(init.to);
      if (target === undefined) {
        fail('no-target');
        init.onResult?.({ kind: 'no-target' });
        init.logger?.warn?.({ backend: init.backend, to: init.to, clientUuid: player.clientUuid }, 'drain: no backend to move the player to');
      } else {
        started += 1;
        inFlight.add(player.clientUuid);
        player.migrate(target, { trigger: 'drain' }).then(
          (result) => {
            inFlight.delete(player.clientUuid);
            if (result.kind === 'migrated') moved += 1;
            else fail(failureKey(result));
            init.onResult?.(result);
          },
          (error: unknown) => {
            inFlight.delete(player.clientUuid);
            fail('error');
            init.logger?.warn?.({ backend: init.backend, clientUuid: player.clientUuid, err: error }, 'drain: the migration could not start');
          },
        );
      }
    }
    // the next slot; a slot without a movable player (all in flight) only checks whether the drain is done
    timer = init.clock.setTimeout(tick, interval);
  };

  init.logger?.info?.({ backend: init.backend, to: init.to, rate: init.rate }, 'drain started');
  timer = init.clock.setTimeout(tick, 0);
  return { status, finished, stop: () => end('stopped') };
}
