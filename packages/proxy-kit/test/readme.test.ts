/** The README's proxy runs as written: a player joins through it and is moved to game-1 (console output captured). */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it, vi } from 'vitest';

it('runs the README proxy', async () => {
  const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');
  const code = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(code).toBeDefined();
  expect(code!.trim().split('\n').length).toBeLessThanOrEqual(60);
  // inside the package, so that `@handoff/*` and its dependencies resolve as they do for a user
  const dir = mkdtempSync(join(fileURLToPath(new URL('.', import.meta.url)), '.readme-'));
  const file = join(dir, 'example.ts');
  writeFileSync(file, code!);
  const logs: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void logs.push(args.join(' ')));
  try {
    await import(/* @vite-ignore */ file);
  } finally {
    spy.mockRestore();
    rmSync(dir, { recursive: true, force: true });
  }
  expect(logs).toEqual(['migrated game-1']);
});
