import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { docPath, generatedBlocks, render } from '../scripts/docs.js';
import { toMermaid } from '../src/diagram.js';
import { migrationMachine } from '../src/index.js';

describe('docs/migration.md', () => {
  it('is up to date with the machine, deadlines, rollback rules and drain policy (run `pnpm --filter @handoff/migration docs`)', () => {
    const committed = readFileSync(docPath, 'utf8');
    expect(committed).toBe(render(committed));
  });

  it('the render would notice a changed machine', () => {
    const committed = readFileSync(docPath, 'utf8');
    const stale = committed.replace('Freeze_stoppingSource --> Cutover : done stopSource', 'Freeze_stoppingSource --> Cutover : done something');
    expect(stale).not.toBe(committed);
    expect(render(stale)).toBe(committed);
  });

  it('the diagram names every state, every phase transition and the actors each phase runs', () => {
    const diagram = generatedBlocks().diagram;
    for (const id of ['Idle_ready', 'Idle_deciding', 'Idle_closed', 'Prepare', 'Auth', 'Sync', 'Freeze', 'Cutover', 'Resume', 'Cleanup']) {
      expect(diagram).toContain(id);
    }
    for (const id of ['closingTarget', 'restoringSource', 'deciding', 'failingOver', 'referring', 'disconnecting']) expect(diagram).toContain(`Failed_${id}`);
    expect(toMermaid(migrationMachine)).toMatch(/^stateDiagram-v2\n/);
    // The work of each phase, in order, as the machine's own actors.
    for (const edge of [
      'Prepare --> Auth : done prepare',
      'Auth --> Sync : done auth',
      'Sync --> Freeze : done sync',
      'Freeze_openingBuffer --> Freeze_freezing : done openBuffer',
      'Freeze_freezing --> Freeze_stoppingSource : done freeze',
      'Freeze_stoppingSource --> Cutover : done stopSource',
      'Cutover_cuttingBarrier --> Cutover_cuttingOver : done cutBarrier',
      'Cutover_cuttingOver --> Resume : done cutover',
      'Resume_drainingToTarget --> Resume_resuming : done drainToTarget',
      'Resume_resuming --> Cleanup : done resume',
      'Failed_restoringSource_drainingToSource --> Failed_restoringSource_resumingSource : done drainToSource',
      'Failed_restoringSource_resumingSource --> Failed_restoringSource_closingTarget : done resumeSource',
      'Failed_deciding --> Failed_failingOver : done decideFailure',
      'Failed_failingOver --> Failed_disconnecting : done failOver [disconnect]',
      'Failed_referring --> Idle_closed : done sendReferral',
    ]) {
      expect(diagram).toContain(edge);
    }
    expect(diagram).toContain('Freeze --> Failed_restoringSource');
  });

  it('names every actor of the machine, and docs/migration.md documents each', () => {
    const committed = readFileSync(docPath, 'utf8');
    for (const actor of Object.keys(migrationMachine.implementations.actors)) {
      expect(generatedBlocks().diagram).toContain(actor);
      expect(committed).toContain(`| \`${actor}\` |`);
    }
  });
});
