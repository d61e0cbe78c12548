import type { BackendRef, FrameLike, Logger } from '@handoff/types';
import type { CutoverBarrier } from './barrier.js';
import type { MigrationBuffer } from './buffer.js';
import type { BackendReads } from './read-pause.js';
import type { FailureDecision, FailureReason, HookDecision, MigrationRef } from './types.js';

/** A request to move the player to `target`. */
export interface MigrationRequest {
  readonly target: BackendRef;
  /**
   * The compact migration ticket for B's `Connect.referralData` (as `@handoff/tickets` issues it),
   * handed to the `prepare` step as is: opaque to this package, and never copied into the machine's
   * context, snapshots, events, outcomes or logs.
   */
  readonly ticket?: string;
  /** Why the migration was asked for (e.g. `'referral'` when A's ClientReferral was intercepted), for hooks and logs. */
  readonly trigger?: string;
}

/** What every step receives. */
export interface StepContext<F extends FrameLike = FrameLike> {
  readonly migration: MigrationRef;
  readonly request: MigrationRequest;
  /** Aborted when the step's phase ends (its deadline, a failure elsewhere, or `stop()`). */
  readonly signal: AbortSignal;
  /** The client packets of this migration (open from Freeze on). */
  readonly buffer: MigrationBuffer<F>;
  /** The cutover barrier of this migration; B writers `await barrier.whenCut()`. */
  readonly barrier: CutoverBarrier;
  /** Paused while an awaited hook runs: the forwarding loop must not read from B then. */
  readonly backendReads: BackendReads;
  readonly logger: Logger;
}

/** What the fail-over steps (`sendReferral`, `sendDisconnect`) receive. */
export interface FallbackContext<F extends FrameLike = FrameLike> extends StepContext<F> {
  readonly failure: FailureReason;
  /** For `sendDisconnect`: the text the failure hook chose for the player. */
  readonly message?: string;
}

/**
 * The I/O of a migration, supplied by the proxy (its setup driver and forwarding loop). Each phase
 * runs the step of its name (`Prepare` → `prepare`); `createMigrator` wraps every step in an xstate
 * actor of the same name and provides it to the machine, next to its own actors (`openBuffer`,
 * `stopSource`, `cutBarrier`, `drainToTarget`, and in `Failed` `drainToSource`, `resumeSource`,
 * `failOver`), which do the buffering, the barrier and the drains around the steps.
 */
export interface MigrationSteps<F extends FrameLike = FrameLike> {
  /** Prepare: open a connection to `migration.target` and send `Connect` with `request.ticket`. */
  prepare(ctx: StepContext<F>): Promise<void>;
  /** Auth: wait for B's `ConnectAccept`, answer a password challenge if any. */
  auth(ctx: StepContext<F>): Promise<void>;
  /**
   * Sync: play the client to B (WorldSettings/ServerInfo, RequestAssets for the missing hashes,
   * swallow assets and `Update*`, send the captured PlayerOptions and ViewRadius). Resolve when B's
   * `JoinWorld` arrived; keep it for `cutover`. B's 30 s ClientReady timer starts then.
   */
  sync(ctx: StepContext<F>): Promise<void>;
  /**
   * Freeze, optional. Runs after `openBuffer` (client packets are buffered from then on) and before
   * `stopSource` stops A's streams. Gates for A's streams come from `migrator.gate()`.
   */
  freeze?(ctx: StepContext<F>): Promise<void>;
  /**
   * Cutover: runs after `cutBarrier`. Send the client its cleanup (UnloadChunk, player-list
   * removals, UI reset), then B's `JoinWorld` rewritten to `clearWorld=true`; route B→client.
   */
  cutover(ctx: StepContext<F>): Promise<void>;
  /** Resume, optional: runs after `drainToTarget`; resolve once the client's ClientReady reached B. */
  resume?(ctx: StepContext<F>): Promise<void>;
  /** Cleanup: after the safe window (B confirmed playing), close A. On abort (deadline), close A at once. */
  cleanup(ctx: StepContext<F>): Promise<void>;
  /** Writes one buffered client packet to A (`drainToSource`, the rollback drain). */
  sendToSource(frame: F, ctx: StepContext<F>): void | Promise<void>;
  /** Writes one buffered client packet to B (`drainToTarget`, after the cut). */
  sendToTarget(frame: F, ctx: StepContext<F>): void | Promise<void>;
  /** Rollback: close the connection to B, if one was opened. */
  closeTarget(ctx: StepContext<F>): Promise<void>;
  /** Fail-over: send the client a `ClientReferral`; the session ends. Absent: referral is not possible. */
  sendReferral?(ctx: FallbackContext<F>): Promise<void>;
  /** Fail-over: send the client a `Disconnect` with a reason; the session ends. */
  sendDisconnect(ctx: FallbackContext<F>): Promise<void>;
}

export interface BeforeMigrateContext {
  readonly migration: MigrationRef;
  readonly trigger?: string;
  readonly signal: AbortSignal;
}

export interface FailureHookContext {
  readonly migration: MigrationRef;
  readonly failure: FailureReason;
  /** Whether the `sendReferral` step exists. */
  readonly canRefer: boolean;
  readonly signal: AbortSignal;
}

/** Awaited hooks: they decide. B is not read while they run. */
export interface MigrationHooks {
  /** Before anything is opened: `allow()`, `deny(reason)` or `redirect(target)`. */
  beforeMigrate?(ctx: BeforeMigrateContext): HookDecision | Promise<HookDecision>;
  /** Once the migration cannot roll back to A: `refer()` or `disconnect(message?)`. Default: `refer()` if a `sendReferral` step exists. */
  onFailure?(ctx: FailureHookContext): FailureDecision | Promise<FailureDecision>;
}
