/**
 * `@matrixai/quic` logs through `@matrixai/logger`, and a logger it creates itself prints every
 * INFO line (each stream and connection event) to stderr. We always hand it one of ours: silent
 * without an injected logger, otherwise forwarding its warnings and errors to `logger.debug`.
 */
import MatrixLogger, { Handler, LogLevel, type LogRecord } from '@matrixai/logger';
import type { Logger } from '@handoff/types';

class ForwardingHandler extends Handler {
  readonly #logger: Logger;

  constructor(logger: Logger) {
    super();
    this.#logger = logger;
  }

  override handle(record: LogRecord): void {
    this.#logger.debug?.({ library: '@matrixai/quic', component: record.keys, level: LogLevel[record.level] }, record.msg);
  }

  emit(): void {
    // `handle` is overridden; nothing is formatted
  }
}

/** A `@matrixai/logger` for the library: silent, or forwarding WARN and above to `logger.debug`. */
export function libraryLogger(name: string, logger: Logger | undefined): MatrixLogger {
  if (logger?.debug === undefined) return new MatrixLogger(name, LogLevel.SILENT, []);
  return new MatrixLogger(name, LogLevel.WARN, [new ForwardingHandler(logger)]);
}
