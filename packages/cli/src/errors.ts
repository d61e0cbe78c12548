/**
 * The errors of the `handoff` command. Codes of the codec itself (`ERR_PROTOCOL_*`) pass through as
 * they are; these are the command's own.
 */
import { HandoffError, isHandoffError } from '@handoff/types';

/** Codes the `handoff` command prints (besides the codec's own `ERR_PROTOCOL_*`); `docs/errors.md` is generated from it. */
export const cliErrorCodes = {
  ERR_CLI_USAGE: 'The command line is wrong (unknown command or option, missing argument). `handoff --help` lists the commands.',
  ERR_CLI_BAD_JSON: 'The value given to `handoff encode` is not valid JSON (the cause is the parser error): fix the JSON.',
  ERR_CLI_FILE: 'A file named on the command line cannot be read, or is not valid JSON (the cause says which).',
  ERR_CLI_INTERNAL: 'An unexpected failure inside the command; please report it with the command line that caused it.',
} as const;

export type CliErrorCode = keyof typeof cliErrorCodes;

/** The error of `@handoff/cli`: a stable `code`, a one-line message, the underlying `cause` where there is one. */
export class CliError extends HandoffError<CliErrorCode> {
  override readonly name = 'CliError';

  constructor(code: CliErrorCode, message: string = cliErrorCodes[code], options: { readonly cause?: unknown } = {}) {
    super('cli', code, message, options);
  }
}

/** True when `value` is a {@link CliError} (of `code` when given), whichever installed copy of this package made it. */
export function isCliError(value: unknown, code?: CliErrorCode): value is CliError {
  return isHandoffError(value, 'cli', code);
}
