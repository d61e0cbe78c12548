import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { docPath, generatedBlocks, render } from '../scripts/docs.js';
import { migrationMachine, toMermaid } from '../src/index.js';

describe('docs/migration.md', () => {
  it('is up to date with the machine, deadlines, rollback rules and drain policy (run `pnpm --filter @handoff/migration docs`)', () => {
    const committed = readFileSync(docPath, 'utf8');
    expect(committed).toBe(render(committed));
  });

  it('the render would notice a changed machine', () => {
    const committed = readFileSync(docPath, 'utf8');
    const stale = committed.replace('Freeze --> Cutover : done freeze', 'Freeze --> Cutover : done something');
    expect(stale).not.toBe(committed);
    expect(render(stale)).toBe(committed);
  });

  it('the diagram names every state and every phase transition of the definition', () => {
    const diagram = generatedBlocks().diagram;
    for (const id of ['Idle_ready', 'Idle_deciding', 'Idle_closed', 'Prepare', 'Auth', 'Sync', 'Freeze', 'Cutover', 'Resume', 'Cleanup']) {
      expect(diagram).toContain(id);
    }
    for (const id of ['closingTarget', 'restoringSource', 'deciding', 'referring', 'disconnecting']) expect(diagram).toContain(`Failed_${id}`);
    expect(toMermaid(migrationMachine)).toMatch(/^stateDiagram-v2\n/);
    expect(diagram).toContain('Sync --> Freeze : done driveSetup');
    expect(diagram).toContain('Freeze --> Failed_restoringSource');
  });
});
