/**
 * composefs-boot's `transform_for_boot` of a tree in the wasm core:
 * /boot and /sysroot emptied, SELinux labels from the tree's own policy.
 * The core asks for the policy files it cannot read (those stored as
 * objects); `fetch` supplies them — from a repository for an OCI image
 * (oci/image-tree.ts), from the directory itself for a scanned tree
 * (`transform_for_boot_from_dir`, below).
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { InputError, IntegrityError, systemError, type HashAlg } from '../../common/index.js';
import { oci, withInput, type NeededObject, type SuppliedObject, type Tree } from '../core/index.js';
import { digestBytes } from '../fsverity/index.js';

/** SELinux policy files are text of a few MiB at most; more is damage. */
export const MAX_POLICY_FILE = 64 << 20;
/** Config, then the policy files: two rounds of asking are all there can be. */
const MAX_BOOT_ROUNDS = 3;

/** The content of an object the core asked for; `input` names it in errors. */
export type FetchObject = (need: NeededObject, input: string) => Promise<Uint8Array>;

/** The transformation of `tree`, in place; true when the tree's own policy relabelled it. */
export async function transformTreeForBoot(tree: Tree, input: string, fetch: FetchObject): Promise<boolean> {
  const supplied: SuppliedObject[] = [];
  for (let round = 0; round < MAX_BOOT_ROUNDS; round++) {
    const step = withInput(input, () => oci.transformForBoot(tree, supplied));
    if (step.tag === 'done') return step.val;
    for (const need of step.val) {
      const path = `${input}: ${Buffer.from(need.path).toString('latin1')}`;
      if (need.size > BigInt(MAX_POLICY_FILE)) {
        throw new InputError(path, `is ${need.size} bytes; SELinux policy files over ${MAX_POLICY_FILE} bytes are refused`);
      }
      supplied.push({ objectId: need.objectId, data: await fetch(need, path) });
    }
  }
  throw new InputError(input, 'the boot transformation kept asking for more SELinux policy files');
}

/**
 * The same for the tree scanned from the directory `root`: policy files
 * are read from it, and checked against the digests the scan recorded.
 */
export function transformDirectoryTreeForBoot(tree: Tree, root: string, hashAlg: HashAlg): Promise<boolean> {
  return transformTreeForBoot(tree, root, async (need, input) => {
    const file = Buffer.concat([Buffer.from(root), Buffer.from(need.path)]);
    let data: Buffer;
    try {
      const handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
      try {
        data = await handle.readFile();
      } finally {
        await handle.close();
      }
    } catch (err) {
      throw systemError(err, input, 'read');
    }
    if (!Buffer.from(digestBytes(data, { hashAlg })).equals(Buffer.from(need.objectId))) {
      throw new IntegrityError(input, 'changed while the tree was read');
    }
    return data;
  });
}
