import { handoffProject } from '../../vitest.shared.js';

export default handoffProject('testkit');
