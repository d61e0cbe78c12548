import { backendInitiatedMove } from './backend-initiated-move.js';

const report = await backendInitiatedMove((line) => console.log(line));
const seamless = report.violations.length === 0 && report.moves.every((m) => m.kind === 'migrated');
if (!seamless) {
  console.error(JSON.stringify(report, null, 2));
  process.exitCode = 1;
}
