/**
 * The containers-storage options of the commands that read it:
 * `--storage-root DIR` and any number of `--additional-image-store DIR`.
 */
import type { StorageOptions } from '../src/cstor/index.js';
import type { ArgsDef } from './command.js';

export const storageArgs = {
  storageRoot: {
    type: 'string',
    valueHint: 'DIR',
    description: 'containers-storage root (default: found as podman finds it: storage.conf, ~/.local/share/containers/storage, /var/lib/containers/storage)',
  },
  additionalImageStore: {
    type: 'string',
    multiple: true,
    valueHint: 'DIR',
    description: 'a read-only image store to search after the primary one (repeatable)',
  },
} as const satisfies ArgsDef;

/** The StorageOptions the command line asks for. */
export function storageOptions(args: { readonly storageRoot: string | undefined; readonly additionalImageStore: readonly string[] }): StorageOptions {
  return { storageRoot: args.storageRoot, additionalImageStores: [...args.additionalImageStore] };
}
