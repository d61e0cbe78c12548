import { MigrationError } from './errors.js';

/**
 * Every named deadline of the machine, in milliseconds. Each is a named delay in `machine.ts`;
 * `deadlineDocs` says what each bounds and what happens when it expires.
 */
export interface Deadlines {
  /** The awaited `beforeMigrate` hook. */
  readonly beforeMigrateHook: number;
  readonly prepare: number;
  readonly auth: number;
  readonly sync: number;
  readonly freeze: number;
  readonly cutover: number;
  readonly resume: number;
  readonly cleanup: number;
  /** Closing B (rollback before Freeze), or draining the buffer back to A, resuming A and closing B (rollback from Freeze). */
  readonly rollback: number;
  /** The awaited failure hook. */
  readonly failureHook: number;
  /** Failing over (dropping the buffer, closing the barrier), then sending the referral or the Disconnect: each bounded by it. */
  readonly fallback: number;
  /** The whole migration, from entering Prepare to leaving Resume. */
  readonly migration: number;
}

export type DeadlineName = keyof Deadlines;

/**
 * B's ClientReady window: B arms a 30 s timer when it sends JoinWorld, which the `sync` step
 * receives at the end of Sync, and disconnects the player if the client's ClientReady has not
 * arrived when it expires (docs/migration.md, "Protocol facts this package relies on"). Freeze,
 * Cutover and Resume (which ends when the client's ClientReady reached B) must fit in it, with a
 * safety margin.
 */
export const CLIENT_READY_WINDOW_MS = 30_000;
/** Kept free inside the ClientReady window for transport latency and B's own processing. */
export const CLIENT_READY_MARGIN_MS = 5_000;

export const defaultDeadlines: Deadlines = Object.freeze({
  beforeMigrateHook: 2_000,
  prepare: 5_000,
  auth: 10_000,
  sync: 30_000,
  freeze: 2_000,
  cutover: 5_000,
  resume: 10_000,
  cleanup: 15_000,
  rollback: 5_000,
  failureHook: 2_000,
  fallback: 5_000,
  migration: 60_000,
});

/** One line per deadline for `docs/migration.md` (generated) and for error messages. */
export const deadlineDocs: Readonly<Record<DeadlineName, { bounds: string; onExpiry: string }>> = {
  beforeMigrateHook: {
    bounds: 'the awaited `beforeMigrate` hook',
    onExpiry: 'the request is refused (`denied`, reason "beforeMigrate hook timed out"); nothing was opened',
  },
  prepare: {
    bounds: 'the `prepare` step: opening B and sending `Connect` with the ticket',
    onExpiry: 'rollback: close B, stay on A',
  },
  auth: { bounds: "the `auth` step: B's `ConnectAccept` (and the password exchange)", onExpiry: 'rollback: close B, stay on A' },
  sync: {
    bounds: "the `sync` step: playing the client to B until B's `JoinWorld`",
    onExpiry: 'rollback: close B, stay on A',
  },
  freeze: {
    bounds: 'the whole Freeze phase: `openBuffer` (client→A forwarding stops), the `freeze` step, `stopSource` (every A stream stops at a frame boundary)',
    onExpiry: 'rollback: drain the buffer to A, resume A, close B',
  },
  cutover: {
    bounds: "the whole Cutover phase: `cutBarrier`, then the `cutover` step (the client's cleanup packets and B's rewritten `JoinWorld`)",
    onExpiry: 'failure hook, then referral (default) or Disconnect',
  },
  resume: {
    bounds: "the whole Resume phase: `drainToTarget` (the buffer to B by the drain policy), then the `resume` step (until the client's `ClientReady` reached B)",
    onExpiry: 'failure hook, then referral (default) or Disconnect',
  },
  cleanup: {
    bounds: 'the `cleanup` step: the safe window and closing A',
    onExpiry: 'the migration still counts as migrated (`cleanup: "deadline"`); the step is aborted and must close A at once',
  },
  rollback: {
    bounds: '`Failed.closingTarget` (`closeTarget`), or all of `Failed.restoringSource` (`drainToSource`, `resumeSource`, `closeTarget`)',
    onExpiry: 'closing B: rolled back anyway; restoring A: failure hook, then referral or Disconnect',
  },
  failureHook: { bounds: 'the awaited failure hook', onExpiry: 'referral' },
  fallback: {
    bounds: 'each of `failOver` (drop the buffer, close the barrier), `sendReferral` and `sendDisconnect`',
    onExpiry: 'failing over: on to the referral or Disconnect; referral: Disconnect instead; Disconnect: the session is closed anyway',
  },
  migration: {
    bounds: 'the whole migration, Prepare to the end of Resume',
    onExpiry: 'the rollback rule of the phase it expires in',
  },
};

/**
 * Merges `overrides` into the defaults and checks them: every deadline a positive finite number,
 * and Freeze + Cutover + Resume inside B's ClientReady window minus the margin.
 *
 * @throws MigrationError `ERR_MIGRATION_CONFIG`, `ERR_MIGRATION_READY_WINDOW`
 */
export function resolveDeadlines(overrides: Partial<Deadlines> = {}): Deadlines {
  const merged: Record<string, number> = { ...defaultDeadlines };
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    if (!(name in defaultDeadlines)) {
      throw new MigrationError('ERR_MIGRATION_CONFIG', `unknown deadline "${name}"`);
    }
    merged[name] = value;
  }
  for (const [name, value] of Object.entries(merged)) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new MigrationError('ERR_MIGRATION_CONFIG', `deadline "${name}" must be a positive number of ms`);
    }
  }
  const deadlines = merged as unknown as Deadlines;
  const afterJoinWorld = deadlines.freeze + deadlines.cutover + deadlines.resume;
  const budget = CLIENT_READY_WINDOW_MS - CLIENT_READY_MARGIN_MS;
  if (afterJoinWorld > budget) {
    throw new MigrationError(
      'ERR_MIGRATION_READY_WINDOW',
      `freeze + cutover + resume = ${afterJoinWorld} ms exceeds ${budget} ms (B's ${CLIENT_READY_WINDOW_MS} ms ClientReady window minus ${CLIENT_READY_MARGIN_MS} ms margin)`,
    );
  }
  return Object.freeze(deadlines);
}
