/**
 * Builds `docs/errors.md` from the error-code table each package exports from `src/errors.ts`
 * (named `<package>ErrorCodes`, e.g. `ticketErrorCodes`, so two tables can be imported side by side),
 * so the documented codes and the thrown codes cannot drift.
 *
 *   node --conditions=source --import tsx scripts/errors-doc.ts          # print
 *   node --conditions=source --import tsx scripts/errors-doc.ts --write  # rewrite docs/errors.md
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

export async function renderErrorsDoc(): Promise<string> {
  const lines = [
    '# Error codes',
    '',
    'Every error Handoff throws carries a stable string `code`; match on the code, never on the message.',
    'This page is generated from the error-code table each package exports (`scripts/errors-doc.ts`);',
    'a test fails when it is out of date.',
    '',
  ];
  for (const dir of readdirSync(join(root, 'packages')).sort()) {
    const file = join(root, 'packages', dir, 'src', 'errors.ts');
    if (!existsSync(file)) continue;
    const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    const tables = Object.entries(mod).filter(([name, value]) => /(^e|E)rrorCodes$/.test(name) && typeof value === 'object' && value !== null);
    if (tables.length === 0) continue;
    lines.push(`## \`@handoff/${dir}\``, '', '| code | meaning |', '|---|---|');
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
