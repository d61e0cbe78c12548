import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { isProtocolError } from '@handoff/protocol';
import { decodeCommand, encodeCommand, publicVectorsCommand, vectorsCommand } from './commands/codec.js';
import { demoCommand } from './commands/demo.js';
import { traceAnalyzeCommand } from './commands/trace.js';
import { backendCommand, parseListen, parseSource } from './commands/backend.js';
import { keysGenerateCommand } from './commands/keys.js';
import { PROXY_LOG_LEVELS, hostPort, parseBackendFlag, parseBackendKeysFlag, proxyCommand, type ProxyArgs } from './commands/proxy.js';
import { CliError, isCliError } from './errors.js';
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
    // a usage error (unknown option, bad or missing value) is status 2, as for most Unix tools
    return 2;
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

const BACKEND_ID = /^[A-Za-z0-9._:-]{1,64}$/;

function backendId(value: string): string {
  if (!BACKEND_ID.test(value)) throw new InvalidArgumentError('a backend id is 1–64 characters of A–Z a–z 0–9 . _ : -');
  return value;
}

function listenAddress(value: string): { host: string; port: number } {
  const address = parseListen(value);
  if (address === undefined) throw new InvalidArgumentError('expected host:port, e.g. 127.0.0.1:5520 or [::1]:5520');
  return address;
}

function proxyAddressFlag(value: string): string {
  const address = hostPort(value);
  if (address === undefined) throw new InvalidArgumentError('expected host:port, e.g. 127.0.0.1:5520 or [::1]:5520');
  return address;
}

function backendFlag(value: string, previous: { id: string; url: string }[] | undefined): { id: string; url: string }[] {
  const parsed = parseBackendFlag(value);
  if (parsed === undefined) throw new InvalidArgumentError('expected id=quic://host:port or id=tcp://host:port');
  return [...(previous ?? []), parsed];
}

function backendKeysFlag(value: string, previous: { id: string; path: string }[] | undefined): { id: string; path: string }[] {
  const parsed = parseBackendKeysFlag(value);
  if (parsed === undefined) throw new InvalidArgumentError('expected id=<key directory or JWKS file>');
  return [...(previous ?? []), parsed];
}

function generationId(value: string): string {
  const id = value.toUpperCase();
  if (!['G1', 'G2', 'G3'].includes(id)) throw new InvalidArgumentError('G1, G2 or G3');
  return id;
}

function sourceMapping(value: string, previous: { from: string; id: string }[] | undefined): { from: string; id: string }[] {
  const parsed = parseSource(value);
  if (parsed === undefined || !BACKEND_ID.test(parsed.id)) throw new InvalidArgumentError('expected host[:port]=backendId');
  return [...(previous ?? []), parsed];
}

function worldUuid(value: string): string {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(value)) throw new InvalidArgumentError('a lowercase UUID');
  return value;
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
    .description('check a vector file (without one: print the public vectors readably, decoded and checked); ends with "N passed, N failed"')
    .option('-q, --quiet', 'print failures only')
    .argument('[file]', 'vector file (JSON array, format of docs/protocol.md); default the public vectors')
    .action(async (file: string | undefined, opts: { quiet?: boolean }) => {
      const quiet = opts.quiet === true;
      setExit(file === undefined ? await publicVectorsCommand(io, { quiet }) : await vectorsCommand(file, io, { quiet }));
    });

  program
    .command('backend')
    .description('run a simulated Hytale backend until SIGINT or SIGTERM, one line per player event (docs/testkit.md)')
    .requiredOption('--id <id>', 'backend id: the ticket audience, the name in its chunks and logs', backendId)
    .requiredOption('--listen <host:port>', 'address to listen on, e.g. 127.0.0.1:5520 or [::1]:5520 (port 0: any free port)', listenAddress)
    .addOption(new Option('--transport <transport>', 'quic (Hytale\'s default) or tcp (a server started with --transport TCP)').choices(['quic', 'tcp']).makeOptionMandatory())
    .option('--generation <generation>', 'protocol generation: G1, G2 or G3', generationId, 'G3')
    .option('--ticket-keys <path>', 'verify migration tickets: a key directory (only its jwks.json is read) or a JWKS file')
    .option('--require-ticket', 'refuse joins without a ticket (needs --ticket-keys); default: accept development joins')
    .option('--password <password>', 'server password: Connect is answered with a challenge (3 attempts)')
    .option('--redis <url>', 'Redis replay store for ticket nonces, shared by every backend (needs --ticket-keys; default: in memory)')
    .option('--source <host[:port]=id>', 'the backend id a referralSource stands for, for ticket checks (repeatable)', sourceMapping)
    .option('--cert <file>', 'QUIC: server certificate chain, PEM (default: a new self-signed localhost certificate)')
    .option('--key <file>', 'QUIC: the private key of --cert, PEM')
    .option('--client-ca <file>', 'QUIC mTLS: accept only client certificates issued by this CA (default: any certificate)')
    .option('--world-uuid <uuid>', 'world UUID (default: derived from --id)', worldUuid)
    .option('--json', 'log each event as one JSON object per line')
    .action(
      async (opts: {
        id: string;
        listen: { host: string; port: number };
        transport: 'quic' | 'tcp';
        generation: string;
        ticketKeys?: string;
        requireTicket?: boolean;
        password?: string;
        redis?: string;
        source?: { from: string; id: string }[];
        cert?: string;
        key?: string;
        clientCa?: string;
        worldUuid?: string;
        json?: boolean;
      }) => {
        setExit(await backendCommand({ ...opts, sources: opts.source }, io));
      },
    );

  program
    .command('proxy')
    .description('run the reference proxy until SIGINT or SIGTERM (SIGHUP re-reads the keys): docs/operations.md')
    .option('--config <file>', 'YAML config file (docs/proxy-config.schema.json); the flags below win over it')
    .option('--listen <host:port>', 'where clients connect, over QUIC (listen.address)', proxyAddressFlag)
    .option('--admin <host:port>', 'the admin HTTP API (admin.address; default 127.0.0.1:8080)', proxyAddressFlag)
    .option('--backend <id=url>', 'a backend, quic://host:port or tcp://host:port (repeatable; backends.<id>.address)', backendFlag)
    .option('--backend-keys <id=path>', "a backend's public keys, key directory or JWKS file (repeatable; backends.<id>.jwks)", backendKeysFlag)
    .option('--ticket-keys <dir>', "the proxy's key directory from handoff keys generate (tickets.keys)")
    .addOption(new Option('--client-auth <mode>', 'session-service, or none for development (clientAuth.mode)').choices(['none', 'session-service']))
    .option('--redis <url>', 'Redis for ticket replay protection and the session directory (redis.url; default in memory)')
    .option('--proxy-id <id>', "the proxy's id, issuer of its tickets (proxy.id; default proxy)", backendId)
    .option('--proxy-address <host:port>', 'the address backends know the proxy by (proxy.address)', proxyAddressFlag)
    .option('--cert <file>', 'listener certificate chain, PEM (listen.certificate.cert; default a development certificate)')
    .option('--key <file>', 'the private key of --cert, PEM (listen.certificate.key)')
    .addOption(new Option('--log-level <level>', 'JSON log level (log.level; default info)').choices([...PROXY_LOG_LEVELS]))
    .option('--trace <file>', 'record every frame of every session as JSONL (names and sizes only; handoff trace analyze <file>)')
    .action(async (opts: ProxyArgs) => {
      setExit(await proxyCommand(opts, io));
    });

  const trace = program.command('trace').description("the proxy's frame traces (JSONL; docs/traces.md)");
  trace
    .command('analyze')
    .description('which packets the proxy captured, replayed, rewritten, suppressed, buffered, injected, forwarded and dropped around each migration, and the packet set per generation')
    .argument('<file>', 'a trace: handoff demo --trace <file>, handoff proxy --trace <file>')
    .option('--json', 'print the analysis as one JSON object')
    .action(async (file: string, opts: { json?: boolean }) => {
      setExit(await traceAnalyzeCommand({ file, json: opts.json === true }, io));
    });

  const keys = program.command('keys').description('migration ticket keys');
  keys
    .command('generate')
    .description('write an Ed25519 signing key (signing-key.jwk, mode 0600) and its public JWKS (jwks.json) into one directory')
    .requiredOption('--out <dir>', 'the key directory (created if missing)')
    .option('--kid <kid>', 'key id (default: the key\'s RFC 7638 thumbprint)')
    .option('--force', 'replace the files if the directory already holds them')
    .action(async (opts: { out: string; kid?: string; force?: boolean }) => {
      setExit(await keysGenerateCommand(opts, io));
    });

  program
    .command('demo')
    .description('a real migration on loopback: a session service, two backends (QUIC, TCP), the reference proxy, a strict client moved a→b→a→b and through a crash; docs/handoff-packet-set.md')
    .option('--generation <generation>', 'protocol generation: G1, G2 or G3', generationId, 'G3')
    .option('--json', 'print the summary as one JSON object on the last line')
    .option('--trace <file>', 'record every frame the proxy handles as JSONL (handoff trace analyze <file>)')
    .action(async (opts: { generation: string; json?: boolean; trace?: string }) => {
      setExit(await demoCommand({ generation: opts.generation as 'G1' | 'G2' | 'G3', json: opts.json === true, trace: opts.trace }, io));
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
