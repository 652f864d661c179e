/**
 * Errors across a worker-thread boundary: structured cloning keeps only an
 * Error's message, so a worker sends the class name, code and fields, and
 * this side rebuilds an error of the same class. Every class of errors.ts
 * is in the table, which a unit test checks.
 */
import * as classes from './errors.js';
import { CfskitError, type ErrorCode } from './errors.js';

export interface SerializedError {
  readonly name: string;
  readonly message: string;
  readonly code: ErrorCode | undefined;
  /** The class's own string fields (input, errno, syscall, path, ...). */
  readonly fields: Readonly<Record<string, string>>;
}

type ErrorClass = abstract new (...args: never[]) => CfskitError;

/** Every CfskitError class by name: exactly the classes errors.ts exports. */
export const ERROR_CLASSES: ReadonlyMap<string, ErrorClass> = new Map(
  (Object.values(classes) as unknown[])
    .filter((value): value is ErrorClass => typeof value === 'function' && (value === CfskitError || value.prototype instanceof CfskitError))
    .map((cls) => [cls.name, cls]),
);

const BASE_FIELDS = new Set(['name', 'message', 'code', 'stack', 'cause']);

export function serializeError(err: unknown): SerializedError {
  if (err instanceof CfskitError) {
    const fields: Record<string, string> = {};
    for (const [key, value] of Object.entries(err)) {
      if (!BASE_FIELDS.has(key) && typeof value === 'string') fields[key] = value;
    }
    return { name: err.constructor.name, message: err.message, code: err.code, fields };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { name: 'Error', message, code: undefined, fields: {} };
}

/**
 * An error of the serialized class with the same message, code and fields.
 * Built without running the class's constructor (whose arguments are gone),
 * yet a real Error with a stack from this side.
 */
export function reviveError(e: SerializedError): Error {
  const cls = ERROR_CLASSES.get(e.name);
  if (!cls || e.code === undefined) return new Error(e.message);
  const err = Reflect.construct(Error, [e.message], cls) as CfskitError;
  Object.defineProperty(err, 'name', { value: e.name, writable: true, enumerable: true, configurable: true });
  Object.defineProperty(err, 'code', { value: e.code, enumerable: true });
  for (const [key, value] of Object.entries(e.fields)) Object.defineProperty(err, key, { value, enumerable: true });
  return err;
}

/**
 * The same error about `label` instead (a layer rather than the stream
 * object it was read from): same class and code, message prefixed.
 */
export function inContext(err: CfskitError, label: string): CfskitError {
  const e = serializeError(err);
  const fields = 'input' in e.fields ? { ...e.fields, input: label } : e.fields;
  const revived = reviveError({ ...e, message: `${label}: ${e.message}`, fields }) as CfskitError;
  Object.defineProperty(revived, 'cause', { value: err, enumerable: false });
  return revived;
}
