import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { renderErrorsDoc } from '../../scripts/errors-doc.js';

test('docs/errors.md lists every error code the packages export (run `pnpm docs:errors` to update)', async () => {
  const committed = readFileSync(join(__dirname, '..', '..', 'docs', 'errors.md'), 'utf8');
  expect(committed).toBe(await renderErrorsDoc());
});
