/**
 * `handoff keys generate --out <dir>`: an Ed25519 signing key and its public JWKS in one directory
 * (`signing-key.jwk`, mode 0600, and `jwks.json`), the layout `--ticket-keys` accepts.
 */
import type { CliIo } from '../io.js';

export interface KeysGenerateArgs {
  readonly out: string;
  readonly kid?: string | undefined;
  readonly force?: boolean | undefined;
}

export async function keysGenerateCommand(args: KeysGenerateArgs, io: CliIo): Promise<number> {
  const { writeKeyDirectory } = await import('@handoff/tickets');
  try {
    const written = await writeKeyDirectory(args.out, { kid: args.kid, overwrite: args.force === true });
    io.stdout(`wrote ${written.signingKeyPath} (private, mode 0600) and ${written.jwksPath} (public), kid ${written.kid}`);
    return 0;
  } catch (error) {
    io.stderr(`${(error as { code?: string }).code ?? 'ERR_CLI_INTERNAL'}: ${(error as Error).message}`);
    return 2;
  }
}
