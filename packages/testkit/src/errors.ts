/**
 * Error codes of `@handoff/testkit` (one table for the whole package; `docs/errors.md` is generated
 * from it). Simulated peers never throw at a misbehaving peer: they answer it as the real one would
 * (a Disconnect, a close). These errors are for the code that drives them: bad options, a call on a
 * player that is gone.
 */
import { HandoffError, isHandoffError } from '@handoff/types';

/** Every code `@handoff/testkit` throws, with what happened and what to do. */
export const testkitErrorCodes = {
  ERR_TESTKIT_INVALID_ARGUMENT:
    'an option or argument given to a simulated peer is invalid (backend id, address, port, timeout, asset, referral data over 4096 bytes): fix the call; the message names the option',
  ERR_TESTKIT_UNKNOWN_PLAYER:
    'the player named in a call (a handle or a client UUID) is not connected to this simulated backend any more, or never was',
  ERR_TESTKIT_CLOSED: 'the simulated backend was closed (or crashed): start a new one',
  ERR_TESTKIT_TIMEOUT: 'a wait on a simulated peer (for an event or a packet) ended before what it waited for happened',
} as const;

export type TestkitErrorCode = keyof typeof testkitErrorCodes;

/** The error of `@handoff/testkit`. */
export class TestkitError extends HandoffError<TestkitErrorCode> {
  override readonly name = 'TestkitError';

  constructor(code: TestkitErrorCode, message: string, options: { cause?: unknown } = {}) {
    super('testkit', code, message, options);
  }
}

/** True when `value` is a {@link TestkitError} (of `code` when given), whichever copy of this package made it. */
export function isTestkitError(value: unknown, code?: TestkitErrorCode): value is TestkitError {
  return isHandoffError(value, 'testkit', code);
}
