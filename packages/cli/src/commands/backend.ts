/**
 * `handoff backend`: runs a simulated Hytale backend (`@handoff/testkit`) until SIGINT or SIGTERM,
 * logging one line per player event. Every flag is documented in docs/testkit.md.
 */
import { readFile } from 'node:fs/promises';
import type { BackendEvent, BackendQuicInit, TicketCheckInit } from '@handoff/testkit';
import type { ReplayStore } from '@handoff/tickets';
import { redactUrl } from '@handoff/types';
import type { CliIo } from '../io.js';

/** What the command line said, already checked for shape by the option parsers. */
export interface BackendArgs {
  readonly id: string;
  readonly listen: { readonly host: string; readonly port: number };
  readonly transport: 'quic' | 'tcp';
  readonly generation: string;
  readonly ticketKeys?: string | undefined;
  readonly requireTicket?: boolean | undefined;
  readonly password?: string | undefined;
  readonly redis?: string | undefined;
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
  readonly clientCa?: string | undefined;
  readonly sources?: readonly { readonly from: string; readonly id: string }[] | undefined;
  readonly worldUuid?: string | undefined;
  readonly json?: boolean | undefined;
}

/** Options of {@link backendCommand} for embedding and tests. */
export interface BackendRunOptions {
  /** Stops the backend (default: the first SIGINT or SIGTERM). */
  readonly signal?: AbortSignal | undefined;
}

/** Exit status of a usage problem: a bad flag value, an unreadable file. */
const USAGE = 2;


/** `host:port`, `[v6]:port`. */
export function parseListen(value: string): { host: string; port: number } | undefined {
  const match = /^(?:\[([^\]]+)\]|([^:\s]+)):(\d{1,5})$/.exec(value);
  if (!match) return undefined;
  const port = Number(match[3]);
  if (port > 65535) return undefined;
  return { host: (match[1] ?? match[2])!, port };
}

/** `host[:port]=backendId`. */
export function parseSource(value: string): { from: string; id: string } | undefined {
  const at = value.lastIndexOf('=');
  if (at <= 0 || at === value.length - 1) return undefined;
  return { from: value.slice(0, at), id: value.slice(at + 1) };
}

async function readText(path: string, what: string, io: CliIo): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    io.stderr(`ERR_CLI_FILE: cannot read ${what} ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
    return undefined;
  }
}

/** One log line per event: time, backend, player key, client UUID, type, then the event's own fields. */
export function formatEvent(event: BackendEvent): string {
  const { type, at, backend, player, clientUuid, seq: _seq, ...rest } = event as BackendEvent & Record<string, unknown>;
  const fields = Object.entries(rest)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' && /[\s"=]/.test(v) ? JSON.stringify(v) : String(v)}`);
  return [new Date(at).toISOString(), backend, player, clientUuid ?? '-', type, ...fields].join(' ');
}

/** Runs the backend; resolves with the exit status once stopped. */
export async function backendCommand(args: BackendArgs, io: CliIo, options: BackendRunOptions = {}): Promise<number> {
  if (args.requireTicket === true && args.ticketKeys === undefined) {
    io.stderr('ERR_CLI_USAGE: --require-ticket needs --ticket-keys (the keys to verify tickets with)');
    return USAGE;
  }
  if (args.redis !== undefined && args.ticketKeys === undefined) {
    io.stderr('ERR_CLI_USAGE: --redis is the ticket replay store: it needs --ticket-keys');
    return USAGE;
  }
  if ((args.cert === undefined) !== (args.key === undefined)) {
    io.stderr('ERR_CLI_USAGE: --cert and --key go together');
    return USAGE;
  }
  if (args.transport === 'tcp' && (args.cert !== undefined || args.clientCa !== undefined)) {
    io.stderr('ERR_CLI_USAGE: --cert, --key and --client-ca are for --transport quic (TCP has no TLS)');
    return USAGE;
  }
  if (args.sources !== undefined && args.ticketKeys === undefined) {
    io.stderr('ERR_CLI_USAGE: --source maps referral sources for ticket checks: it needs --ticket-keys');
    return USAGE;
  }

  const quic: { -readonly [K in keyof BackendQuicInit]: BackendQuicInit[K] } = {};
  if (args.cert !== undefined && args.key !== undefined) {
    const certPem = await readText(args.cert, 'certificate', io);
    const keyPem = certPem === undefined ? undefined : await readText(args.key, 'key', io);
    if (certPem === undefined || keyPem === undefined) return USAGE;
    quic.certificate = { certPem, keyPem };
  }
  if (args.clientCa !== undefined) {
    const ca = await readText(args.clientCa, 'client CA', io);
    if (ca === undefined) return USAGE;
    quic.clientCertificate = { policy: 'required-and-verified', ca };
  }

  const tickets = await import('@handoff/tickets');
  let ticketInit: { -readonly [K in keyof TicketCheckInit]: TicketCheckInit[K] } | undefined;
  if (args.ticketKeys !== undefined) {
    try {
      // a backend only verifies: it reads jwks.json, never the signing key
      ticketInit = { keyRing: await tickets.loadKeys(args.ticketKeys, { publicOnly: true }) };
    } catch (error) {
      io.stderr(`ERR_CLI_FILE: cannot use --ticket-keys ${args.ticketKeys}: ${(error as Error).message}`);
      return USAGE;
    }
    if (args.sources !== undefined) ticketInit.sources = Object.fromEntries(args.sources.map((s) => [s.from, s.id]));
  }
  let replayStore: ReplayStore | undefined;
  if (args.redis !== undefined && ticketInit !== undefined) {
    try {
      replayStore = tickets.createRedisReplayStore({ url: args.redis });
      await replayStore.probe({ signal: AbortSignal.timeout(3000) });
    } catch (error) {
      io.stderr(`${(error as { code?: string }).code ?? 'ERR_CLI_INTERNAL'}: cannot reach Redis at ${redactUrl(args.redis)}`);
      await replayStore?.close().catch(() => {});
      return 1;
    }
    ticketInit.replayStore = replayStore;
  }

  const { createBackend, isTestkitError } = await import('@handoff/testkit');
  let backend: Awaited<ReturnType<typeof createBackend>>;
  try {
    backend = await createBackend({
      id: args.id,
      transport: args.transport,
      listen: args.listen,
      generation: args.generation,
      ...(args.password === undefined ? {} : { password: args.password }),
      ...(ticketInit === undefined ? {} : { tickets: ticketInit }),
      requireTicket: args.requireTicket === true,
      ...(args.worldUuid === undefined ? {} : { worldUuid: args.worldUuid }),
      quic,
      // a long-running process: bounded logs, counters are enough for the gone
      packetLogLimit: 10_000,
      retainPlayers: 100,
      eventLogLimit: 10_000,
      onEvent: (event) => io.stdout(args.json === true ? JSON.stringify(event) : formatEvent(event)),
    });
  } catch (error) {
    await replayStore?.close().catch(() => {});
    const code = (error as { code?: string }).code ?? 'ERR_CLI_INTERNAL';
    io.stderr(`${code}: ${(error as Error).message}`);
    return isTestkitError(error, 'ERR_TESTKIT_INVALID_ARGUMENT') ? USAGE : 1;
  }

  const { host, port } = backend.address;
  const where = `${args.transport}://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const details = [
    backend.generation,
    `world ${backend.worldUuid}`,
    args.ticketKeys === undefined ? 'tickets not checked' : args.requireTicket === true ? 'tickets required' : 'tickets checked when present',
    ...(backend.certificateFingerprint === undefined ? [] : [`certificate sha256 ${backend.certificateFingerprint}`]),
  ];
  io.stdout(`backend ${backend.id} listening on ${where} (${details.join(', ')})`);

  await new Promise<void>((resolve) => {
    if (options.signal !== undefined) {
      if (options.signal.aborted) return resolve();
      options.signal.addEventListener('abort', () => resolve(), { once: true });
      return;
    }
    const stop = (name: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      io.stdout(`backend ${backend.id}: ${name}, stopping`);
      // a second signal while stopping ends the process at once
      const force = () => process.exit(130);
      process.once('SIGINT', force);
      process.once('SIGTERM', force);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await backend.close();
  await replayStore?.close().catch(() => {});
  const c = backend.counters;
  io.stdout(`backend ${backend.id} stopped (${c.connections} connections, ${c.ready} players in the world, ${c.disconnects} left)`);
  return 0;
}
