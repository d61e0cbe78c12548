import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { isProtocolError } from '@handoff/protocol';
import { decodeCommand, encodeCommand, vectorsCommand } from './commands/codec.js';
import { demoCommand } from './commands/demo.js';
import { isCliError } from './errors.js';
import { type CliIo, processIo } from './io.js';

/** One line per failure, never a stack trace: `CODE: message`. */
function reportError(error: unknown, io: CliIo): number {
  if (isProtocolError(error)) {
    io.stderr(`${error.code}${error.location ? ` at ${error.location}` : ''}: ${error.message}`);
  } else if (isCliError(error)) {
    io.stderr(`${error.code}: ${error.message}`);
  } else if (error instanceof CommanderError) {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return 0;
    io.stderr(`ERR_CLI_USAGE: ${error.message.replace(/^error: /, '')}`);
  } else {
    io.stderr(`ERR_CLI_INTERNAL: ${error instanceof Error ? error.message : String(error)}`);
  }
  return 1;
}

function level(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < -7 || n > 22) throw new InvalidArgumentError('zstd level is an integer from -7 to 22');
  return n;
}

function build(io: CliIo, setExit: (code: number) => void): Command {
  const program = new Command('handoff')
    .description('Handoff: seamless server switching for Hytale proxies')
    .configureOutput({ writeOut: (s) => io.stdout(s.trimEnd()), writeErr: (s) => io.stderr(s.trimEnd()), outputError: () => {} })
    .exitOverride()
    .showHelpAfterError(false);
  const protocol = () => new Option('-p, --protocol <generation>', 'protocol generation: G1, G2 or G3').makeOptionMandatory();

  program
    .command('decode')
    .description('decode one frame (hex) and print {"packet","id","value"}')
    .addOption(protocol())
    .addOption(new Option('-d, --direction <direction>', 'refuse packets that do not travel this way').choices(['ToServer', 'ToClient']))
    .argument('<frameHex>', 'the whole frame as hex: length, id, payload')
    .action(async (frameHex: string, opts: { protocol: string; direction?: 'ToServer' | 'ToClient' }) => {
      setExit(await decodeCommand({ protocol: opts.protocol, frameHex, ...(opts.direction ? { direction: opts.direction } : {}) }, io));
    });

  program
    .command('encode')
    .description('encode a packet from its JSON value and print the frame as hex')
    .addOption(protocol())
    .requiredOption('-k, --packet <name>', 'packet name, e.g. JoinWorld')
    .option('-l, --level <level>', 'zstd level for compressed packets (default 3)', level)
    .argument('<json>', 'the value, in the JSON mapping of docs/protocol.md')
    .action(async (json: string, opts: { protocol: string; packet: string; level?: number }) => {
      setExit(await encodeCommand({ protocol: opts.protocol, packet: opts.packet, json, ...(opts.level === undefined ? {} : { level: opts.level }) }, io));
    });

  program
    .command('vectors')
    .description('check a vector file; ends with "N passed, N failed"')
    .option('-q, --quiet', 'print failures only')
    .argument('<file>', 'vector file (JSON array, format of docs/protocol.md)')
    .action(async (file: string, opts: { quiet?: boolean }) => {
      setExit(await vectorsCommand(file, io, { quiet: opts.quiet === true }));
    });

  program
    .command('demo')
    .description('decode the public vectors and print them readably')
    .action(async () => {
      setExit(await demoCommand(io));
    });

  return program;
}

/** Runs the command line; returns the exit code. Never throws. */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  let exitCode = 0;
  const program = build(io, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    return reportError(error, io);
  }
}
