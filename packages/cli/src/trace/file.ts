/**
 * A trace file: the records of a proxy's trace recorder, one JSON object per line (`--trace <file>` of
 * `handoff demo` and `handoff proxy`). Created (or truncated) with mode 0600; complete once closed.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { CliError } from '../errors.js';

export interface TraceFile {
  /** Appends one record (a trace recorder's `record`). */
  record(entry: object): void;
  /** Flushes and closes the file. */
  close(): Promise<void>;
}

/** Opens `path` for a trace. @throws {CliError} `ERR_CLI_FILE` when it cannot be written. */
export async function openTraceFile(path: string): Promise<TraceFile> {
  const stream = createWriteStream(path, { flags: 'w', mode: 0o600 });
  try {
    await once(stream, 'open');
  } catch (error) {
    throw new CliError('ERR_CLI_FILE', `cannot write the trace to ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`, { cause: error });
  }
  let closed: Promise<void> | undefined;
  return {
    record: (entry) => void stream.write(`${JSON.stringify(entry)}\n`),
    close: () =>
      (closed ??= (async () => {
        stream.end();
        await once(stream, 'close').catch(() => {});
      })()),
  };
}
