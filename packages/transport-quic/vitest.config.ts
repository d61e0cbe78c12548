import { handoffProject } from '../../vitest.shared.js';

export default handoffProject('transport-quic', {
  globalSetup: ['./test/global-setup.ts'],
});
