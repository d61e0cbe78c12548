import { customTransport } from './custom-transport.js';

const report = await customTransport((line) => console.log(line));
if (report.violations.length > 0 || !report.moves.every((m) => m.kind === 'migrated')) {
  console.error(JSON.stringify(report, null, 2));
  process.exitCode = 1;
}
