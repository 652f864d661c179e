import { mountImage, requireRoot } from '../../src/mount/index.js';
import { command } from '../command.js';
import { printJson } from '../output.js';
import { withRepository } from '../repo.js';

export default command({
  meta: {
    name: 'mount',
    description:
      'Mount a composefs image of the repository (Linux, root): the EROFS image on a read-only loop device under an overlayfs whose data-only layer is objects/ ' +
      '(metacopy, redirects; verity=require in secure repositories). Undo with `cfskit unmount MOUNTPOINT` (or umount; the loop device detaches itself)',
  },
  args: {
    image: { type: 'positional', required: true, valueHint: 'IMAGE', description: 'an image under images/: its digest or refs/NAME' },
    mountpoint: { type: 'positional', required: true, valueHint: 'MOUNTPOINT', description: 'an existing directory' },
    json: { type: 'boolean', description: 'print what was mounted as JSON' },
  },
  async run({ args }) {
    requireRoot(`mounting ${args.image}`);
    const mounted = await withRepository(args, {}, (repo) => mountImage(repo, args.image, args.mountpoint));
    if (args.json) printJson(mounted);
  },
});
