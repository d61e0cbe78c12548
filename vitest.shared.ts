/**
 * Shared Vitest settings for every workspace project.
 *
 * Tests run against `src/` (never a stale `dist/`): every `@handoff/*` import is
 * aliased to the package's `src/index.ts`, mirroring the `source` export
 * condition that `tsconfig.base.json` uses for type-checking.
 */
import { readdirSync, existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { defineProject, type UserWorkspaceConfig } from 'vitest/config';

const root = fileURLToPath(new URL('.', import.meta.url));

function workspaceAliases(): Record<string, string> {
  const aliases: Record<string, string> = {};
  const packagesDir = join(root, 'packages');
  for (const dir of readdirSync(packagesDir)) {
    const entry = join(packagesDir, dir, 'src', 'index.ts');
    if (existsSync(entry)) aliases[`@handoff/${dir}`] = entry;
    const extra = join(packagesDir, dir, 'src', 'compliance', 'index.ts');
    if (existsSync(extra)) aliases[`@handoff/${dir}/compliance`] = extra;
    const internals = join(packagesDir, dir, 'src', 'internals.ts');
    if (existsSync(internals)) aliases[`@handoff/${dir}/internals`] = internals;
  }
  // examples published as packages (their package.json names them), e.g. @handoff/reference-proxy
  const examplesDir = join(root, 'examples');
  for (const dir of readdirSync(examplesDir)) {
    const manifest = join(examplesDir, dir, 'package.json');
    const entry = join(examplesDir, dir, 'src', 'index.ts');
    if (!existsSync(manifest) || !existsSync(entry)) continue;
    const name = (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name;
    if (name?.startsWith('@handoff/') && !name.startsWith('@handoff/example-')) aliases[name] = entry;
  }
  return aliases;
}

export const aliases = workspaceAliases();

export function handoffProject(name: string, test: UserWorkspaceConfig['test'] = {}): UserWorkspaceConfig {
  return defineProject({
    resolve: {
      // longest keys first so `@handoff/transport/compliance` wins over `@handoff/transport`
      alias: Object.entries(aliases)
        .sort(([a], [b]) => b.length - a.length)
        .map(([find, replacement]) => ({ find, replacement })),
    },
    test: {
      name,
      include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
      environment: 'node',
      setupFiles: [join(root, 'test', 'support', 'zstd-setup.ts')],
      testTimeout: 20_000,
      hookTimeout: 30_000,
      ...test,
    },
  });
}
