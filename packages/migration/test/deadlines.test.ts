import { describe, expect, it } from 'vitest';
import { CLIENT_READY_MARGIN_MS, CLIENT_READY_WINDOW_MS, deadlineDocs, defaultDeadlines, resolveDeadlines } from '../src/index.js';

describe('deadlines', () => {
  it("defaults keep Freeze + Cutover + Resume inside B's ClientReady window with the margin", () => {
    const { freeze, cutover, resume } = defaultDeadlines;
    expect(freeze + cutover + resume).toBeLessThanOrEqual(CLIENT_READY_WINDOW_MS - CLIENT_READY_MARGIN_MS);
    expect(resolveDeadlines()).toEqual(defaultDeadlines);
  });

  it('refuses a configuration that would let B time the player out', () => {
    expect(() => resolveDeadlines({ resume: 20_000 })).toThrow(expect.objectContaining({ code: 'ERR_MIGRATION_READY_WINDOW' }));
  });

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY])('refuses %s ms', (value) => {
    expect(() => resolveDeadlines({ prepare: value })).toThrow(expect.objectContaining({ code: 'ERR_MIGRATION_CONFIG' }));
  });

  it('refuses an unknown deadline name', () => {
    expect(() => resolveDeadlines({ prepar: 1 } as never)).toThrow(expect.objectContaining({ code: 'ERR_MIGRATION_CONFIG' }));
  });

  it('documents every deadline', () => {
    expect(Object.keys(deadlineDocs).sort()).toEqual(Object.keys(defaultDeadlines).sort());
  });
});
