/**
 * `@handoff/cli`: the `handoff` command.
 *
 * @example
 * ```sh
 * pnpm exec handoff decode --protocol G3 04000000200000000c000000
 * # {"packet":"ViewRadius","id":32,"value":{"value":12}}
 * ```
 */
export { main } from './main.js';
export { CliError, cliErrorCodes, isCliError, type CliErrorCode } from './errors.js';
export type { CliIo } from './io.js';
