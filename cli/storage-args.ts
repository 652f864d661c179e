/**
 * The containers-storage options every `cfskit cstor` command takes:
 * `--storage-root DIR` and any number of `--additional-image-store DIR`.
 */
import type { ArgsDef } from 'citty';
import type { StorageOptions } from '../src/cstor/index.js';
import { UsageError } from '../common/index.js';
import { optionValues } from './command.js';

export const storageArgs = {
  storageRoot: {
    type: 'string',
    valueHint: 'DIR',
    description: 'containers-storage root (default: found as podman finds it: storage.conf, ~/.local/share/containers/storage, /var/lib/containers/storage)',
  },
  additionalImageStore: {
    type: 'string',
    valueHint: 'DIR',
    description: 'a read-only image store to search after the primary one (repeatable)',
  },
} as const satisfies ArgsDef;

/** The StorageOptions the command line asks for. */
export function storageOptions(def: ArgsDef, rawArgs: readonly string[]): StorageOptions {
  const roots = optionValues(def, rawArgs, 'storageRoot');
  if (roots.length > 1) throw new UsageError('option --storage-root given more than once');
  if (roots[0] === '') throw new UsageError('option --storage-root needs a directory');
  const additional = optionValues(def, rawArgs, 'additionalImageStore');
  if (additional.includes('')) throw new UsageError('option --additional-image-store needs a directory');
  return { storageRoot: roots[0], additionalImageStores: additional };
}
