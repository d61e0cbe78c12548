/**
 * The error brand every `@handoff/*` error carries, and the errors of this package's parsers.
 *
 * `instanceof` fails when two copies of a package are installed (a dependency pinned to another
 * version), so every package's `is…Error` guard checks a brand instead: a property keyed by a
 * `Symbol.for()` symbol (shared by every copy in the process) whose value names the package.
 */

const BRAND: unique symbol = Symbol.for('@handoff/error');

/** Options of a {@link HandoffError}. */
export interface HandoffErrorOptions {
  /** The underlying error, kept as `cause` (sanitise it first when it may carry secrets). */
  readonly cause?: unknown;
}

/**
 * The base of every error a `@handoff/*` package throws: a stable string `code` (prefixed with the
 * package, `ERR_<PACKAGE>_…`), a message without secrets, `cause` where there is one, and the brand
 * that {@link isHandoffError} reads.
 */
export class HandoffError<Code extends string = string> extends Error {
  readonly code: Code;
  declare readonly [BRAND]: string;

  /** @param pkg the package short name (`'tickets'`, `'session'`…), stored as the brand. */
  constructor(pkg: string, code: Code, message: string, options: HandoffErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    Object.defineProperty(this, BRAND, { value: pkg, enumerable: false });
  }
}

/**
 * True when `value` is an error of a `@handoff/*` package (of `pkg` when given, of `code` when given),
 * whichever copy of the package made it.
 */
export function isHandoffError(value: unknown, pkg?: string, code?: string): value is HandoffError {
  if (typeof value !== 'object' || value === null) return false;
  const brand = (value as { [BRAND]?: unknown })[BRAND];
  if (typeof brand !== 'string') return false;
  if (pkg !== undefined && brand !== pkg) return false;
  return code === undefined || (value as { code?: unknown }).code === code;
}

/** The package a branded error came from (`'tickets'`, `'session'`…), or `undefined`. */
export function handoffErrorPackage(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const brand = (value as { [BRAND]?: unknown })[BRAND];
  return typeof brand === 'string' ? brand : undefined;
}

/** Every code `@handoff/types` throws, with what happened and what to do (`docs/errors.md` is generated from it). */
export const typesErrorCodes = {
  ERR_TYPES_INVALID_ID:
    'a client UUID, backend id, pool id, session id or migration id does not match its grammar: fix the value (the error names which kind)',
  ERR_TYPES_INVALID_PHASE: 'a phase name is not one of the migration phases (Idle, Prepare, Auth, Sync, Freeze, Cutover, Resume, Cleanup, Failed)',
} as const;

export type TypesErrorCode = keyof typeof typesErrorCodes;

/** The error of this package's parsers. `kind` names what was being parsed; the value itself is never echoed. */
export class TypesError extends HandoffError<TypesErrorCode> {
  override readonly name = 'TypesError';
  /** What was being parsed: `'client uuid'`, `'backend id'`, `'pool id'`, `'session id'`, `'migration id'`, `'phase'`. */
  readonly kind: string;

  constructor(code: TypesErrorCode, kind: string) {
    super('types', code, `invalid ${kind}`);
    this.kind = kind;
  }
}

/** True when `value` is a {@link TypesError} (of `code` when given), whichever copy of this package made it. */
export function isTypesError(value: unknown, code?: TypesErrorCode): value is TypesError {
  return isHandoffError(value, 'types', code);
}
