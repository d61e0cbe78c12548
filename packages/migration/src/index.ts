/**
 * `@handoff/migration`: the XState migration machine — phases, deadlines, bounded buffering, the
 * cutover barrier, rollback and typed outcomes. The proxy supplies every side effect as a step.
 *
 * @example
 * ```ts
 * import { BufferBudget, createMigrator, forwardThroughGate } from '@handoff/migration';
 *
 * const migrator = createMigrator({ session: { id: 's1' }, backend: { id: 'lobby' }, steps, budget: new BufferBudget() });
 * forwardThroughGate(framesFromA, migrator.gate('Default'), (f) => toClient.write(f.bytes));
 * const route = migrator.clientFrame(frameFromClient); // forward | buffered | hold | drop
 * const result = await migrator.migrate({ target: { id: 'game-1' }, ticket });
 * if (result.kind === 'migrated') console.log('now on', migrator.backend.id);
 * ```
 */
export * from './types.js';
export * from './deadlines.js';
export * from './errors.js';
export * from './machine.js';
export * from './rollback.js';
export * from './diagram.js';
export * from './frame-like.js';
export * from './budget.js';
export * from './drain-policy.js';
export * from './buffer.js';
export * from './barrier.js';
export * from './read-pause.js';
export type * from './steps.js';
export type { Logger } from './logger.js';
export * from './migrator.js';
