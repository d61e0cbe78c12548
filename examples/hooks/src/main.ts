import { hooksRecipe } from './hooks.js';

const report = await hooksRecipe((line) => console.log(line));
const [denied, redirected] = report.results;
const ok =
  denied?.kind === 'refused' && denied.refusal === 'denied' && redirected?.kind === 'migrated' && report.backend === 'game-2' && report.violations.length === 0;
if (!ok) {
  console.error(JSON.stringify(report, null, 2));
  process.exitCode = 1;
}
