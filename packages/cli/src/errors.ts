/** Codes the `handoff` command prints (besides the codec's own `ERR_PROTOCOL_*`). */
export const errorCodes = {
  ERR_CLI_USAGE: 'The command line is wrong (unknown command or option, missing argument). `handoff --help` lists the commands.',
  ERR_CLI_BAD_JSON: 'The value given to `handoff encode` is not valid JSON.',
  ERR_CLI_FILE: 'A file named on the command line cannot be read, or is not valid JSON.',
  ERR_CLI_INTERNAL: 'An unexpected failure inside the command; please report it with the command line that caused it.',
} as const;

export type CliErrorCode = keyof typeof errorCodes;

export class CliError extends Error {
  override readonly name = 'CliError';
  readonly code: CliErrorCode;

  constructor(code: CliErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
