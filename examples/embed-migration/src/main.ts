import { embedMigration } from './embed-migration.js';

const report = await embedMigration((line) => console.log(line));
if (report.violations.length > 0 || !report.results.every((r) => r.kind === 'migrated')) {
  console.error(JSON.stringify(report, null, 2));
  process.exitCode = 1;
}
