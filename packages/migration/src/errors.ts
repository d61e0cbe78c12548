/**
 * Every code `@handoff/migration` can throw or report, with what happened and what to do.
 * `docs/errors.md` is generated from this table.
 */
export const errorCodes = {
  ERR_MIGRATION_CONFIG:
    'a deadline or buffer limit is not a positive finite number, or names an unknown setting: fix the configuration passed to createMigrator / resolveDeadlines',
  ERR_MIGRATION_READY_WINDOW:
    "freeze + cutover + resume deadlines do not fit in B's 30 s ClientReady window minus the 5 s margin: shorten them",
  ERR_MIGRATION_ACTOR_NOT_PROVIDED:
    'the machine invoked an actor that was not supplied with .provide(): provide every actor, or use createMigrator',
  ERR_MIGRATION_DEADLINE:
    'a named deadline of the migration expired (the reason names which); the phase rollback rule was applied',
  ERR_MIGRATION_STEP_FAILED:
    "a step (connect, authenticate, sync, freeze, cutover, drain, ...) rejected; `cause` holds the step error's code; the phase rollback rule was applied",
  ERR_MIGRATION_BUFFER_OVERFLOW:
    'client packets buffered during the migration exceeded the per-migration or global bound (packets or bytes); the migration was rolled back or failed over',
  ERR_MIGRATION_ABORTED: 'the migration was aborted by the caller (abort() or the signal) before Cutover; it was rolled back',
  ERR_MIGRATION_SOURCE_LOST:
    'the connection to A was lost while migrating, so there was nothing to roll back to; the session failed over (referral or Disconnect)',
  ERR_MIGRATION_STOPPED:
    'the migrator was stopped (the session ended) while a migration was in flight; buffered packets were dropped with rule "migration-stopped"',
  ERR_BARRIER_NOT_STOPPED: 'cut() was called before every A stream stopped at a frame boundary: await barrier.stop() first',
  ERR_BARRIER_CUT: 'the barrier was already cut: A streams cannot resume after B frames reached the client',
  ERR_BARRIER_CLOSED: 'the barrier was closed (the migration failed over) before the cut: B writers must not write',
  ERR_BARRIER_ABORTED: 'waiting on the barrier was aborted by the signal',
  ERR_GATE_MISUSE: 'StreamGate.exit() was called without a matching enter(): bracket every frame write with enter()/exit()',
  ERR_BUFFER_STATE:
    'a buffer operation was called in a state that does not allow it (e.g. drain twice, open after settling): check buffer.state',
} as const;

export type MigrationErrorCode = keyof typeof errorCodes;

/** The error class of `@handoff/migration`: a stable `code`, a message without secrets, `cause` where there is one. */
export class MigrationError extends Error {
  override readonly name = 'MigrationError';
  readonly code: MigrationErrorCode;

  constructor(code: MigrationErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? errorCodes[code], options);
    this.code = code;
  }
}
