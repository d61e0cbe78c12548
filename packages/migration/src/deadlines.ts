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
  /** Closing B (rollback before Freeze) or draining the buffer back to A (rollback from Freeze). */
  readonly rollback: number;
  /** The awaited failure hook. */
  readonly failureHook: number;
  /** Sending the referral or the Disconnect. */
  readonly fallback: number;
  /** The whole migration, from entering Prepare to leaving Resume. */
  readonly migration: number;
}

export type DeadlineName = keyof Deadlines;

/**
 * B's ClientReady window (REFERENCE.md §5.2 step 9, §5.4): B arms a 30 s timer when it sends
 * JoinWorld, which the setup driver receives at the end of Sync. Freeze, Cutover and Resume (which
 * ends when the client's ClientReady reached B) must fit in it, with a safety margin.
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
    bounds: 'opening B and sending `Connect` with the ticket',
    onExpiry: 'rollback: close B, stay on A',
  },
  auth: { bounds: "B's `ConnectAccept` (and the password exchange)", onExpiry: 'rollback: close B, stay on A' },
  sync: {
    bounds: "playing the client to B until B's `JoinWorld`",
    onExpiry: 'rollback: close B, stay on A',
  },
  freeze: {
    bounds: 'stopping client→A forwarding and every A stream at a frame boundary',
    onExpiry: 'rollback: drain the buffer to A, resume A, close B',
  },
  cutover: {
    bounds: "the client's cleanup packets and B's rewritten `JoinWorld`",
    onExpiry: 'failure hook, then referral (default) or Disconnect',
  },
  resume: {
    bounds: "draining the buffer to B until the client's `ClientReady` reached B",
    onExpiry: 'failure hook, then referral (default) or Disconnect',
  },
  cleanup: {
    bounds: 'the safe window and closing A',
    onExpiry: 'the migration still counts as migrated (`cleanup: "deadline"`); the step is aborted and must close A at once',
  },
  rollback: {
    bounds: 'closing B, or draining the buffer back to A',
    onExpiry: 'closing B: rolled back anyway; draining to A: failure hook, then referral or Disconnect',
  },
  failureHook: { bounds: 'the awaited failure hook', onExpiry: 'referral' },
  fallback: {
    bounds: 'sending the referral, or the Disconnect',
    onExpiry: 'referral: Disconnect instead; Disconnect: the session is closed anyway',
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
