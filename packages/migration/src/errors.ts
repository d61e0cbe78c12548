import { HandoffError, isHandoffError } from '@handoff/types';

/**
 * Every code `@handoff/migration` can throw or report, with what happened and what to do.
 * `docs/errors.md` is generated from this table.
 */
export const migrationErrorCodes = {
  ERR_MIGRATION_CONFIG:
    'createMigrator / resolveDeadlines got an invalid option: a deadline or buffer limit that is not a positive finite number or names an unknown setting, an invalid session or backend id, or a snapshot that migrator.persist() did not make: fix the option (the message names it)',
  ERR_MIGRATION_READY_WINDOW:
    "freeze + cutover + resume deadlines do not fit in B's 30 s ClientReady window minus the 5 s margin: shorten them",
  ERR_MIGRATION_DUPLICATE_SESSION:
    'a live migrator already exists for this session id (one migrator per player session): stop() the old one before creating another',
  ERR_MIGRATION_INVALID_REQUEST:
    'migrate() got a request whose target is not a valid backend reference, or whose ticket is not a string: fix the request (nothing was started)',
  ERR_MIGRATION_IN_FLIGHT:
    'persist() was called while a migration is in flight (its buffer, barrier and ticket cannot be persisted): persist between migrations, once migrate() settled',
  ERR_MIGRATION_ACTOR_NOT_PROVIDED:
    'the machine invoked an actor that was not supplied with .provide(), or the failure hook chose a referral without a sendReferral step: provide every actor (or use createMigrator) and a sendReferral step',
  ERR_MIGRATION_DEADLINE:
    'a named deadline of the migration expired (the reason names which); the phase rollback rule was applied',
  ERR_MIGRATION_STEP_FAILED:
    "an actor of a phase (prepare, auth, sync, openBuffer, freeze, stopSource, cutBarrier, cutover, drainToTarget, resume) rejected; `cause` holds its error's code; the phase rollback rule was applied",
  ERR_MIGRATION_BUFFER_OVERFLOW:
    'client packets buffered during the migration exceeded the per-migration or global bound (packets or bytes); the migration was rolled back or failed over',
  ERR_MIGRATION_ABORTED: 'the migration was aborted by the caller (abort() or the signal) before Cutover; it was rolled back',
  ERR_MIGRATION_SOURCE_LOST:
    'the connection to A was lost while migrating, so there was nothing to roll back to; the session failed over (referral or Disconnect)',
  ERR_MIGRATION_STOPPED:
    'the migrator was stopped (the session ended) while a migration was in flight; buffered packets were dropped with rule "migration-stopped"',
  ERR_MIGRATION_BARRIER_NOT_STOPPED:
    'cut() was called before every A stream stopped at a frame boundary: await barrier.stop() first',
  ERR_MIGRATION_BARRIER_CUT: 'the barrier was already cut: A streams cannot resume after B frames reached the client',
  ERR_MIGRATION_BARRIER_CLOSED: 'the barrier was closed (the migration failed over) before the cut: B writers must not write',
  ERR_MIGRATION_BARRIER_ABORTED: 'waiting on the barrier was aborted by the signal (its reason is the cause)',
  ERR_MIGRATION_GATE_MISUSE:
    'StreamGate.enter() was called twice, or exit() without a matching enter(): bracket every frame write with enter()/exit()',
  ERR_MIGRATION_BUFFER_STATE:
    'a buffer operation was called in a state that does not allow it (e.g. drain twice, open after settling): check buffer.state',
} as const;

export type MigrationErrorCode = keyof typeof migrationErrorCodes;

/**
 * The error class of `@handoff/migration`: a stable `code` (`ERR_MIGRATION_…`), a message without
 * secrets, `cause` where there is one. Match it with {@link isMigrationError}, which also works when
 * two copies of the package are installed.
 */
export class MigrationError extends HandoffError<MigrationErrorCode> {
  override readonly name = 'MigrationError';

  constructor(code: MigrationErrorCode, message?: string, options?: { cause?: unknown }) {
    super('migration', code, message ?? migrationErrorCodes[code], options);
  }
}

/** True when `value` is a {@link MigrationError} (of `code` when given), whichever copy of this package made it. */
export function isMigrationError(value: unknown, code?: MigrationErrorCode): value is MigrationError {
  return isHandoffError(value, 'migration', code);
}
