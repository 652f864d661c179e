/**
 * Typed errors. Every message names the input it is about (a path, a
 * stream, a layer) and what is wrong with it; `code` is stable for programs.
 */

export type ErrorCode =
  | 'usage'
  | 'invalid-input'
  | 'not-found'
  | 'integrity'
  | 'auth'
  | 'unsupported'
  | 'host-unavailable'
  | 'system';

export class CfskitError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Bad arguments or options, from the API or the command line. */
export class UsageError extends CfskitError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('usage', message, options);
  }
}

/** Malformed, truncated or hostile input data; `input` names it. */
export class InputError extends CfskitError {
  readonly input: string;

  constructor(input: string, problem: string, options?: { cause?: unknown }) {
    super('invalid-input', `${input}: ${problem}`, options);
    this.input = input;
  }
}

export class NotFoundError extends CfskitError {
  readonly input: string;

  constructor(input: string, what: string, options?: { cause?: unknown }) {
    super('not-found', `${input}: ${what}`, options);
    this.input = input;
  }
}

/** Content whose digest or size is not what it claims. */
export class IntegrityError extends CfskitError {
  readonly input: string;

  constructor(input: string, problem: string, options?: { cause?: unknown }) {
    super('integrity', `${input}: ${problem}`, options);
    this.input = input;
  }
}

/** A registry refused the credentials, or wants some and none were given. */
export class AuthError extends CfskitError {
  readonly input: string;

  constructor(input: string, problem: string, options?: { cause?: unknown }) {
    super('auth', `${input}: ${problem}`, options);
    this.input = input;
  }
}

/** A capability this kernel, file system or platform lacks. */
export class UnsupportedError extends CfskitError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('unsupported', message, options);
  }
}

/** A failed system call; `errno` is its symbolic name (EXDEV, ENOSPC, ...). */
export class SystemError extends CfskitError {
  readonly errno: string;
  readonly syscall: string;
  readonly path: string | undefined;

  constructor(errno: string, syscall: string, path: string | undefined, detail: string) {
    super('system', `${path ?? syscall}: ${syscall} failed: ${detail} (${errno})`);
    this.errno = errno;
    this.syscall = syscall;
    this.path = path;
  }
}

function isErrnoException(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string';
}

/** Turns a Node fs error into a SystemError naming `path`. */
export function systemError(err: unknown, path: string, syscall?: string): CfskitError {
  if (err instanceof CfskitError) return err;
  if (isErrnoException(err)) {
    const detail = err.message.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '');
    return new SystemError(err.code ?? 'EIO', syscall ?? err.syscall ?? 'io', path, detail);
  }
  return new SystemError('EIO', syscall ?? 'io', path, err instanceof Error ? err.message : String(err));
}

/** An error as it crosses a worker-thread boundary. */
export interface SerializedError {
  readonly code: ErrorCode | undefined;
  readonly name: string;
  readonly message: string;
  readonly input: string | undefined;
  /** For SystemError: the errno name and the call. */
  readonly errno?: string;
  readonly syscall?: string;
}

export function serializeError(err: unknown): SerializedError {
  if (err instanceof SystemError) {
    return { code: err.code, name: err.name, message: err.message, input: err.path, errno: err.errno, syscall: err.syscall };
  }
  if (err instanceof CfskitError) {
    const input = (err as Partial<InputError>).input;
    return { code: err.code, name: err.name, message: err.message, input };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: undefined, name: 'Error', message, input: undefined };
}

const classes: Record<string, typeof CfskitError | undefined> = {
  UsageError, InputError, NotFoundError, IntegrityError, AuthError, UnsupportedError,
} as unknown as Record<string, typeof CfskitError>;

/** Rebuilds an error of the same class and message on this side. */
export function reviveError(e: SerializedError): Error {
  if (e.name === 'SystemError' && e.errno !== undefined) {
    const err = new SystemError(e.errno, e.syscall ?? 'syscall', e.input, '');
    err.message = e.message;
    return err;
  }
  const cls = classes[e.name];
  if (!e.code || !cls) return new Error(e.message);
  const err = new CfskitError(e.code, e.message);
  Object.setPrototypeOf(err, cls.prototype);
  err.name = e.name;
  if (e.input !== undefined) Object.defineProperty(err, 'input', { value: e.input, enumerable: true });
  return err;
}
