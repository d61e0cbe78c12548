import { handoffProject } from '../vitest.shared.js';

export default handoffProject('integration', { include: ['integration/**/*.test.ts', 'e2e/**/*.test.ts', 'docs/**/*.test.ts'] });
