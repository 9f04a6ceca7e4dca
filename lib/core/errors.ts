/**
 * The one error type of the project. `code` is stable (scripts and tests match on it),
 * `message` is one line for people, `hint` says what to run next. A message never holds a
 * secret: callers describe the kind of value that was wrong, never the value itself.
 */
export interface BasisErrorOptions {
  hint?: string;
  cause?: unknown;
  /** Process exit code when this error ends a command (2 = bad input, 1 = runtime failure). */
  exitCode?: number;
  /** Public, non-secret detail for --json output. */
  details?: Record<string, unknown>;
}

export class BasisError extends Error {
  override readonly name = "BasisError";
  readonly code: string;
  readonly hint: string | undefined;
  readonly exitCode: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, message: string, options: BasisErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? 1;
    this.details = options.details;
  }

  toJSON(): Record<string, unknown> {
    return {
      error: this.code,
      message: this.message,
      ...(this.hint ? { hint: this.hint } : {}),
      ...(this.details ? { details: this.details } : {}),
    };
  }
}

/** Bad input from the operator: exit code 2. */
export function inputError(code: string, message: string, hint?: string): BasisError {
  return new BasisError(code, message, { hint, exitCode: 2 });
}

export function isBasisError(value: unknown): value is BasisError {
  return value instanceof BasisError;
}
