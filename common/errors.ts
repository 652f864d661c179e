/**
 * Every error class cfskit throws, in one leaf module that src/, cli/ and
 * host-bindings/ all import (so each class exists once and a worker thread
 * can rebuild any of them, see serialize.ts). Every message names the input
 * it is about (a path, a stream, a layer) and what is wrong with it; `code`
 * is stable for programs.
 */

export type ErrorCode =
  | 'usage'
  | 'invalid-input'
  | 'not-found'
  | 'integrity'
  | 'auth'
  | 'unsupported'
  | 'host-unavailable'
  | 'system'
  | 'cancelled';

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

/**
 * Input over one of the bounds that keep memory and time in check (entry
 * counts, sizes, nesting): a kind of invalid input, with the same code.
 */
export class LimitError extends InputError {}

export class NotFoundError extends CfskitError {
  readonly input: string;

  constructor(input: string, what: string, options?: { cause?: unknown }) {
    super('not-found', `${input}: ${what}`, options);
    this.input = input;
  }
}

/** Content whose digest, checksum or size is not what it claims. */
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

/** A capability this kernel, file system, platform or format version lacks. */
export class UnsupportedError extends CfskitError {
  /** What it is about, when one input is. */
  readonly input: string | undefined;

  constructor(message: string, options?: { cause?: unknown; input?: string }) {
    super('unsupported', message, options);
    this.input = options?.input;
  }
}

/** The file system or kernel has no fs-verity (EOPNOTSUPP, ENOTTY). */
export class VerityUnsupportedError extends UnsupportedError {
  constructor(input: string, errno: string) {
    super(`${input}: fs-verity is not supported by this file system or kernel (${errno})`, { input });
  }
}

/** The file system supports fs-verity but this file does not have it (ENODATA). */
export class VerityNotEnabledError extends UnsupportedError {
  constructor(input: string) {
    super(`${input}: fs-verity is not enabled on this file`, { input });
  }
}

/** The native addon is not there (not Linux, not built, disabled), so `feature` cannot run. */
export class HostUnavailableError extends CfskitError {
  readonly feature: string;
  readonly reason: string;

  constructor(feature: string, reason: string) {
    super('host-unavailable', `${feature} needs cfskit's native host bindings, which are unavailable: ${reason}`);
    this.feature = feature;
    this.reason = reason;
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

/** Someone else holds a conflicting flock and the caller chose not to wait. */
export class LockBusyError extends SystemError {
  constructor(input: string, mode: string) {
    super('EWOULDBLOCK', 'flock', input, `a conflicting lock is held, so no ${mode} lock was taken`);
  }
}

/** Garbage collection (an exclusive lock) while others use the repository. */
export class RepositoryBusyError extends CfskitError {
  readonly input: string;

  constructor(path: string) {
    super('system', `${path}: the repository is in use by another process (import, mount or fsck); try again when it finishes`);
    this.input = path;
  }
}

/** Work that was abandoned before it finished (its worker threads were closed). */
export class CancelledError extends CfskitError {
  constructor(message: string) {
    super('cancelled', message);
  }
}

/** A Node error with a symbolic `code` (ENOENT, ...). */
function isErrnoException(err: unknown): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string';
}

/** Turns a Node fs error into a SystemError naming `path`; cfskit's own errors pass through. */
export function systemError(err: unknown, path: string, syscall?: string): CfskitError {
  if (err instanceof CfskitError) return err;
  if (isErrnoException(err)) {
    const detail = err.message.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '');
    return new SystemError(err.code ?? 'EIO', syscall ?? err.syscall ?? 'io', path, detail);
  }
  return new SystemError('EIO', syscall ?? 'io', path, err instanceof Error ? err.message : String(err));
}
