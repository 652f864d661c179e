/**
 * The errno name of a failure, whichever side reported it: Node's fs
 * (`code`), the addon (`code`) or a SystemError (`errno`).
 */
export function errnoOf(err: unknown): string | undefined {
  const e = err as { errno?: unknown; code?: unknown } | null | undefined;
  if (typeof e?.errno === 'string') return e.errno;
  return typeof e?.code === 'string' && /^E[A-Z0-9]+$/.test(e.code) ? e.code : undefined;
}

/**
 * The `code` a Node error carries, whatever kind: errno names, but also
 * zlib's (Z_BUF_ERROR) and Node's own (ERR_...).
 */
export function nodeErrorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Whether `err` is the system error `code` (ENOENT, EEXIST, ...). */
export function isErrno(err: unknown, ...codes: string[]): boolean {
  const errno = errnoOf(err);
  return errno !== undefined && codes.includes(errno);
}
