import type { Phase } from '@handoff/types';

/** The substates of `Failed`, one per rollback rule. */
export type FailedState = 'closingTarget' | 'restoringSource' | 'deciding' | 'failingOver' | 'referring' | 'disconnecting';

export interface RollbackRule {
  /** Where a failure of this phase enters `Failed` (`null`: the phase does not fail into it). */
  readonly failedState: FailedState | null;
  /** The rule, as the design table states it. */
  readonly rule: string;
  /** The outcome(s) the rule leads to. */
  readonly outcome: string;
}

/**
 * What a failure leaves behind, per phase (the design's rollback rules). The machine implements it
 * (its tests check every failure edge against this table) and `docs/migration.md` is generated from it.
 * Losing A (`source.lost`) has no rollback in any phase: it always enters `Failed.deciding`.
 */
export const rollbackRules: Readonly<Record<Phase, RollbackRule>> = {
  Idle: {
    failedState: null,
    rule: 'nothing was opened: a denied, failed or timed-out `beforeMigrate` hook refuses the request',
    outcome: 'refused (`denied`)',
  },
  Prepare: { failedState: 'closingTarget', rule: 'close B (`closeTarget`), stay on A', outcome: 'rolled-back' },
  Auth: { failedState: 'closingTarget', rule: 'close B (`closeTarget`), stay on A', outcome: 'rolled-back' },
  Sync: { failedState: 'closingTarget', rule: 'close B (`closeTarget`), stay on A', outcome: 'rolled-back' },
  Freeze: {
    failedState: 'restoringSource',
    rule: "drain the buffer to A in order (`drainToSource`), resume A's streams (`resumeSource`), close B (`closeTarget`); if A cannot be restored, as Cutover",
    outcome: 'rolled-back (else referred / disconnected)',
  },
  Cutover: {
    failedState: 'deciding',
    rule: 'awaited failure hook (`decideFailure`), drop the buffer and close the barrier (`failOver`), then referral (`sendReferral`, the default when that step exists), else Disconnect with a reason (`sendDisconnect`)',
    outcome: 'referred / disconnected',
  },
  Resume: {
    failedState: 'deciding',
    rule: 'awaited failure hook (`decideFailure`), drop the buffer and close the barrier (`failOver`), then referral (`sendReferral`, the default when that step exists), else Disconnect with a reason (`sendDisconnect`)',
    outcome: 'referred / disconnected',
  },
  Cleanup: {
    failedState: null,
    rule: 'none: the player is on B; a failed or late Cleanup is reported in the outcome (`cleanup`)',
    outcome: 'migrated',
  },
  Failed: {
    failedState: null,
    rule: 'a failed referral becomes a Disconnect; a failed Disconnect still closes the session',
    outcome: 'the outcome of the rule above',
  },
};
