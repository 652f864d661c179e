import { createRepositoryImage } from '../../src/image/index.js';
import type { StoreStrategy } from '../../src/repository/index.js';
import { command } from '../command.js';
import { BOOTABLE, PROPAGATE_USR_TO_ROOT, TREE_PATH, XATTRS, xattrMode } from '../tree-args.js';
import { printJson } from '../output.js';
import { ProgressLine } from '../progress.js';
import { withRepository } from '../repo.js';
import { writeStdout } from '../write.js';

export default command({
  meta: {
    name: 'create-image',
    description:
      'Store a directory in the repository as a composefs image, as `cfsctl create-image` does (file contents as objects, reflinked where possible, else copied; ' +
      'the EROFS image in each of the repository\'s formats under images/, the default one named), and print its ID',
  },
  args: {
    path: TREE_PATH,
    name: { type: 'positional', required: false, valueHint: 'NAME', description: 'also name it images/refs/NAME (use as refs/NAME)' },
    propagateUsrToRoot: PROPAGATE_USR_TO_ROOT,
    xattrs: XATTRS,
    bootable: BOOTABLE,
    hardlink: {
      type: 'boolean',
      description: 'hard-link files on the repository\'s file system into objects/ when no reflink is possible (the files must never change again)',
    },
    zerocopy: { type: 'boolean', description: 'fail rather than copy any file\'s data' },
    json: { type: 'boolean', description: 'print the ID and how each object was stored as JSON' },
  },
  async run({ args }) {
    const strategies: StoreStrategy[] = args.hardlink ? ['reflink', 'hardlink', 'copy'] : ['reflink', 'copy'];
    const progress = new ProgressLine();
    let algorithm = '';
    const created = await withRepository(args, { write: true }, (repo) => {
      algorithm = repo.hashAlg;
      return createRepositoryImage(repo, args.path, {
        name: args.name,
        propagateUsrToRoot: args.propagateUsrToRoot,
        xattrs: xattrMode(args.xattrs),
        bootable: args.bootable === true,
        strategies,
        zerocopy: args.zerocopy === true,
        onProgress: (done, total) => progress.update('storing objects', done, total),
      });
    });
    progress.done();
    if (args.json) printJson(created);
    // As cfsctl prints it (`sha512:<hex>`).
    else await writeStdout(`${algorithm}:${created.id}\n`);
  },
});
