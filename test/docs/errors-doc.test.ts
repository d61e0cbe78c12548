import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { errorModules, renderErrorsDoc } from '../../scripts/errors-doc.js';

test('docs/errors.md lists every error code the packages export (run `pnpm docs:errors` to update)', async () => {
  const committed = readFileSync(join(__dirname, '..', '..', 'docs', 'errors.md'), 'utf8');
  expect(committed).toBe(await renderErrorsDoc());
});

// Each package's codes carry its own prefix, and each table has its own name, so two tables can be
// imported side by side and a code says where it came from.
const PREFIX: Record<string, string> = {
  cli: 'ERR_CLI_',
  migration: 'ERR_MIGRATION_',
  protocol: 'ERR_PROTOCOL_',
  'proxy-kit': 'ERR_PROXY_',
  'reference-proxy': 'ERR_REFERENCE_PROXY_',
  session: 'ERR_SESSION_',
  testkit: 'ERR_TESTKIT_',
  tickets: 'ERR_TICKET_',
  transport: 'ERR_TRANSPORT_',
  'transport-quic': 'ERR_TRANSPORT_QUIC_',
  'transport-tcp': 'ERR_TRANSPORT_TCP_',
  types: 'ERR_TYPES_',
};

test('every error code carries its package prefix, and every table has a name of its own', async () => {
  const tableNames = new Map<string, string>();
  for (const { dir, file } of errorModules()) {
    const mod = (await import(file)) as Record<string, unknown>;
    expect(mod, `${dir} must not export a table named errorCodes`).not.toHaveProperty('errorCodes');
    const tables = Object.entries(mod).filter(([name]) => name.endsWith('ErrorCodes'));
    for (const [name, table] of tables) {
      expect(tableNames.get(name), `${name} is exported by ${tableNames.get(name)} and ${dir}`).toBeUndefined();
      tableNames.set(name, dir);
      const prefix = PREFIX[dir];
      expect(prefix, `no prefix is declared for @handoff/${dir}`).toBeDefined();
      for (const code of Object.keys(table as object)) expect(code.startsWith(prefix!), `${code} (@handoff/${dir})`).toBe(true);
    }
  }
  expect(tableNames.size).toBeGreaterThanOrEqual(8);
});
