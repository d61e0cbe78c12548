/**
 * The phases of a migration, as the migration machine's top-level states name them. Each phase
 * runs one step of the same name in lower case (`Prepare` → `prepare`); see `docs/migration.md`.
 */
import { TypesError } from './errors.js';

/** The phases in the order a successful migration visits them (then back to `Idle` on B). */
export const PHASES = ['Idle', 'Prepare', 'Auth', 'Sync', 'Freeze', 'Cutover', 'Resume', 'Cleanup', 'Failed'] as const;

/** One migration phase. */
export type Phase = (typeof PHASES)[number];

const SET: ReadonlySet<string> = new Set(PHASES);

/** True when `value` is one of {@link PHASES}. */
export function isPhase(value: unknown): value is Phase {
  return typeof value === 'string' && SET.has(value);
}

/**
 * Validates a phase name.
 * @throws {TypesError} `ERR_TYPES_INVALID_PHASE` when `value` is not one of {@link PHASES}.
 */
export function parsePhase(value: unknown): Phase {
  if (!isPhase(value)) throw new TypesError('ERR_TYPES_INVALID_PHASE', 'phase');
  return value;
}
