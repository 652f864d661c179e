/**
 * Whether a repository requires fs-verity: composefs-rs decides by whether
 * meta.json (or, in old repositories, an object) has it. With the addon the
 * kernel is asked (FS_IOC_MEASURE_VERITY). Without it, a file is opened for
 * writing and closed at once, which changes nothing: the kernel refuses
 * that with EPERM for a file with fs-verity, and a file that has it can
 * only be on Linux, so on other systems the answer is always "insecure".
 */
import { open } from 'node:fs/promises';
import { VerityNotEnabledError, VerityUnsupportedError, isErrno, systemError } from '../../common/index.js';
import { hostAvailability, measureVerity } from '../../host-bindings/index.js';

/** Whether the repository requires fs-verity: known, or unknowable here. */
export type Security = 'secure' | 'insecure' | 'unknown';

/**
 * `file` with fs-verity means every object must have it. Without the
 * addon the answer is only looked for when about to write (`probe`).
 */
export async function securityOf(file: string, probe: boolean): Promise<Security> {
  if (!hostAvailability().available) return probe ? securityByWriteProbe(file) : 'unknown';
  try {
    await measureVerity(file);
    return 'secure';
  } catch (err) {
    if (err instanceof VerityNotEnabledError || err instanceof VerityUnsupportedError) return 'insecure';
    throw err;
  }
}

async function securityByWriteProbe(file: string): Promise<Security> {
  try {
    await (await open(file, 'r+')).close();
    return 'insecure';
  } catch (err) {
    // EPERM: fs-verity (or an immutable file, which cannot be written either).
    if (isErrno(err, 'EPERM')) return 'secure';
    // Not ours to write, or a read-only file system: no way to tell.
    if (isErrno(err, 'EACCES', 'EROFS')) return 'unknown';
    throw systemError(err, file, 'open');
  }
}
