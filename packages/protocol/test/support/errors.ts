import { isProtocolError } from '@handoff/protocol';

/** The code of the ProtocolError `run` throws, `undefined` when it does not throw, `untyped: …` for anything else. */
export function code(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return isProtocolError(error) ? error.code : `untyped: ${String(error)}`;
  }
  return undefined;
}
