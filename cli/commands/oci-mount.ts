import { mountOciImage, requireRoot } from '../../src/mount/index.js';
import { command } from '../command.js';
import { printJson } from '../output.js';
import { withRepository } from '../repo.js';
import { XATTRS, xattrMode } from '../tree-args.js';

export default command({
  meta: {
    name: 'mount',
    description:
      "Mount a stored OCI image's composefs image (Linux, root), making it first if the config does not name one yet. Undo with `cfskit unmount MOUNTPOINT`",
  },
  args: {
    image: { type: 'positional', required: true, valueHint: 'REF|@DIGEST', description: 'tag or @manifest-digest' },
    mountpoint: { type: 'positional', required: true, valueHint: 'MOUNTPOINT', description: 'an existing directory' },
    bootable: { type: 'boolean', description: 'mount the bootable variant (composefs.image.boot…)' },
    xattrs: XATTRS,
    json: { type: 'boolean', description: 'print what was mounted as JSON' },
  },
  async run({ args }) {
    requireRoot(`mounting ${args.image}`);
    const mounted = await withRepository(args, {}, (repo) => mountOciImage(repo, args.image, args.mountpoint, { bootable: args.bootable === true, xattrs: xattrMode(args.xattrs) }));
    if (args.json) printJson(mounted);
  },
});
