/**
 * `handoff proxy`: runs the reference proxy (`@handoff/reference-proxy`) until SIGINT or SIGTERM. The
 * configuration comes from `--config <file>` (YAML, docs/proxy-config.schema.json) and the flags,
 * which win over the file; the common case needs no file. Every flag and key is in docs/operations.md.
 */
import { resolve as resolvePath } from 'node:path';
import { isCliError } from '../errors.js';
import type { CliIo } from '../io.js';
import { openTraceFile, type TraceFile } from '../trace/file.js';

/** What the command line said, already checked for shape by the option parsers. */
export interface ProxyArgs {
  readonly config?: string | undefined;
  readonly listen?: string | undefined;
  readonly admin?: string | undefined;
  readonly backend?: readonly { readonly id: string; readonly url: string }[] | undefined;
  readonly backendKeys?: readonly { readonly id: string; readonly path: string }[] | undefined;
  readonly ticketKeys?: string | undefined;
  readonly clientAuth?: 'none' | 'session-service' | undefined;
  readonly redis?: string | undefined;
  readonly proxyId?: string | undefined;
  readonly proxyAddress?: string | undefined;
  readonly cert?: string | undefined;
  readonly key?: string | undefined;
  readonly logLevel?: string | undefined;
  /** Record every frame of every session as JSONL in this file (names and sizes only: `handoff trace analyze`). */
  readonly trace?: string | undefined;
}

/** Options of {@link proxyCommand} for embedding and tests. */
export interface ProxyRunOptions {
  /** Stops the proxy (default: the first SIGINT or SIGTERM; SIGHUP re-reads the keys). */
  readonly signal?: AbortSignal | undefined;
  /** The environment (default `process.env`). */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined;
  /** Called once the proxy listens (tests read its addresses). */
  readonly onStarted?: ((proxy: import('@handoff/reference-proxy').ReferenceProxy) => void) | undefined;
}

/** Log levels `--log-level` takes (the logger's). */
export const PROXY_LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Exit status of a usage problem: a bad flag, a bad config file, an unreadable file. */
const USAGE = 2;

/** `host:port` or `[v6]:port`, as a string; undefined when malformed. */
export function hostPort(value: string): string | undefined {
  const match = /^(?:\[([^\]]+)\]|([^:\s[\]/]+)):(\d{1,5})$/.exec(value);
  return match && Number(match[3]) <= 65535 ? value : undefined;
}

/** `id=quic://host:port` or `id=tcp://host:port`. */
export function parseBackendFlag(value: string): { id: string; url: string } | undefined {
  const at = value.indexOf('=');
  if (at <= 0) return undefined;
  const id = value.slice(0, at);
  const url = value.slice(at + 1);
  const match = /^(quic|tcp):\/\/(.+)$/.exec(url);
  if (!/^[A-Za-z0-9._:-]{1,64}$/.test(id) || !match || hostPort(match[2]!) === undefined) return undefined;
  return { id, url };
}

/** `id=path`. */
export function parseBackendKeysFlag(value: string): { id: string; path: string } | undefined {
  const at = value.indexOf('=');
  if (at <= 0 || at === value.length - 1) return undefined;
  const id = value.slice(0, at);
  return /^[A-Za-z0-9._:-]{1,64}$/.test(id) ? { id, path: value.slice(at + 1) } : undefined;
}

/** The flags in the config file's shape (relative paths taken from the working directory). */
export function overridesFromArgs(args: ProxyArgs, cwd: string = process.cwd()): Record<string, unknown> {
  const file = (path: string) => resolvePath(cwd, path);
  const out: Record<string, unknown> = {};
  const section = (name: string): Record<string, unknown> => (out[name] ??= {}) as Record<string, unknown>;
  if (args.listen !== undefined) section('listen').address = args.listen;
  if (args.cert !== undefined || args.key !== undefined) {
    section('listen').certificate = { ...(args.cert === undefined ? {} : { cert: file(args.cert) }), ...(args.key === undefined ? {} : { key: file(args.key) }) };
  }
  if (args.admin !== undefined) section('admin').address = args.admin;
  const backend = (id: string, values: Record<string, unknown>) => {
    const backends = section('backends');
    backends[id] = { ...((backends[id] as Record<string, unknown> | undefined) ?? {}), ...values };
  };
  for (const { id, url } of args.backend ?? []) backend(id, { address: url });
  for (const { id, path } of args.backendKeys ?? []) backend(id, { jwks: file(path) });
  if (args.ticketKeys !== undefined) section('tickets').keys = file(args.ticketKeys);
  if (args.clientAuth !== undefined) section('clientAuth').mode = args.clientAuth;
  if (args.redis !== undefined) section('redis').url = args.redis;
  if (args.proxyId !== undefined) section('proxy').id = args.proxyId;
  if (args.proxyAddress !== undefined) section('proxy').address = args.proxyAddress;
  if (args.logLevel !== undefined) section('log').level = args.logLevel;
  return out;
}

/** Runs the proxy; resolves with the exit status once it stopped. */
export async function proxyCommand(args: ProxyArgs, io: CliIo, options: ProxyRunOptions = {}): Promise<number> {
  const env = options.env ?? process.env;
  if ((args.cert === undefined) !== (args.key === undefined)) {
    io.stderr('ERR_CLI_USAGE: --cert and --key go together');
    return USAGE;
  }
  const rp = await import('@handoff/reference-proxy');
  const problems = (error: unknown): number | undefined => {
    if (!rp.isReferenceProxyError(error) || (error.code !== 'ERR_REFERENCE_PROXY_CONFIG' && error.code !== 'ERR_REFERENCE_PROXY_FILE')) return undefined;
    for (const line of error.lines()) io.stderr(`${error.code}: ${line}`);
    return USAGE;
  };

  let config: import('@handoff/reference-proxy').ProxyConfig;
  let files: import('@handoff/reference-proxy').ConfigFiles;
  try {
    config = await rp.loadProxyConfig({ file: args.config, overrides: overridesFromArgs(args), env });
    files = await rp.readConfigFiles(config, env);
  } catch (error) {
    const status = problems(error);
    if (status !== undefined) return status;
    throw error;
  }

  const logger = rp.createProxyLogger({
    level: config.log?.level,
    destination: { write: (line: string) => io.stdout(line.endsWith('\n') ? line.slice(0, -1) : line) },
  });
  let file: TraceFile | undefined;
  try {
    file = args.trace === undefined ? undefined : await openTraceFile(args.trace);
  } catch (error) {
    if (!isCliError(error)) throw error;
    io.stderr(`${error.code}: ${error.message}`);
    return USAGE;
  }
  const closeTrace = async () => file?.close();
  let proxy: import('@handoff/reference-proxy').ReferenceProxy;
  try {
    proxy = await rp.startProxy(config, {
      files,
      logger,
      env,
      ...(file === undefined ? {} : { trace: file }),
    });
  } catch (error) {
    await closeTrace();
    const code = (error as { code?: string }).code ?? 'ERR_CLI_INTERNAL';
    io.stderr(`${code}: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
  options.onStarted?.(proxy);

  const stopped = await new Promise<NodeJS.Signals | 'signal'>((resolve) => {
    if (options.signal !== undefined) {
      if (options.signal.aborted) return resolve('signal');
      options.signal.addEventListener('abort', () => resolve('signal'), { once: true });
      return;
    }
    const reload = () => {
      proxy.reloadKeys().catch((error: unknown) => logger.error({ err: error }, 'key reload failed: the keys in use are unchanged'));
    };
    const stop = (name: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      process.off('SIGHUP', reload);
      // a second signal while stopping ends the process at once
      const force = () => process.exit(130);
      process.once('SIGINT', force);
      process.once('SIGTERM', force);
      resolve(name);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    process.on('SIGHUP', reload);
  });
  logger.info({ signal: stopped }, 'stopping');
  await proxy.close();
  await closeTrace();
  if (stopped !== 'signal') {
    // everything is closed; should a library still hold a handle, the process ends anyway
    setTimeout(() => process.exit(0), 1000).unref();
  }
  return 0;
}
