/**
 * Builds `docs/errors.md` from the error-code table each package (and each example package) exports from `src/errors.ts`
 * (named `<package>ErrorCodes`, e.g. `ticketErrorCodes`, so two tables can be imported side by side),
 * so the documented codes and the thrown codes cannot drift.
 *
 *   node --conditions=source --import tsx scripts/errors-doc.ts          # print
 *   node --conditions=source --import tsx scripts/errors-doc.ts --write  # rewrite docs/errors.md
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** A package (under `packages/` or `examples/`) with an error-code table in `src/errors.ts`. */
export interface ErrorModule {
  /** Its npm name, e.g. `@handoff/tickets`. */
  readonly name: string;
  /** Its directory name, e.g. `tickets`. */
  readonly dir: string;
  readonly file: string;
}

/** Every package of `packages/` then `examples/` with a `src/errors.ts`, by directory name. */
export function errorModules(): ErrorModule[] {
  const modules: ErrorModule[] = [];
  for (const parent of ['packages', 'examples']) {
    for (const dir of readdirSync(join(root, parent)).sort()) {
      const file = join(root, parent, dir, 'src', 'errors.ts');
      const manifest = join(root, parent, dir, 'package.json');
      if (!existsSync(file) || !existsSync(manifest)) continue;
      const { name } = JSON.parse(readFileSync(manifest, 'utf8')) as { name: string };
      modules.push({ name, dir, file });
    }
  }
  return modules;
}

export async function renderErrorsDoc(): Promise<string> {
  const lines = [
    '# Error codes',
    '',
    'Every error Handoff throws carries a stable string `code`; match on the code, never on the message.',
    'This page is generated from the error-code table each package exports (`scripts/errors-doc.ts`);',
    'a test fails when it is out of date.',
    '',
  ];
  for (const { name, file } of errorModules()) {
    const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    const tables = Object.entries(mod).filter(([key, value]) => /(^e|E)rrorCodes$/.test(key) && typeof value === 'object' && value !== null);
    if (tables.length === 0) continue;
    lines.push(`## \`${name}\``, '', '| code | meaning |', '|---|---|');
    for (const [code, meaning] of tables.flatMap(([, table]) => Object.entries(table as Record<string, string>))) {
      lines.push(`| \`${code}\` | ${meaning.replace(/\|/g, '\\|').replace(/\n/g, ' ')} |`);
    }
    lines.push('');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const doc = await renderErrorsDoc();
  if (process.argv.includes('--write')) writeFileSync(join(root, 'docs', 'errors.md'), doc);
  else process.stdout.write(doc);
}
