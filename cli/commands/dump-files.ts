import { command, restArgs } from '../command.js';
import { IMAGE_ARG_HELP, withImageArg } from '../image-arg.js';
import { writeStdout } from '../write.js';

export default command(
  {
    meta: { name: 'dump-files', description: 'Print dumpfile lines for paths in a composefs image, as `cfsctl dump-files` does' },
    args: {
      image: { type: 'positional', required: true, valueHint: 'IMAGE', description: IMAGE_ARG_HELP },
      paths: { type: 'positional', valueHint: 'PATH...', description: 'files or directories in the image' },
      backingPathOnly: { type: 'boolean', description: 'print each file\'s object path (or "inline") instead' },
    },
    async run({ args }) {
      await withImageArg(args, args.image, async (image) => {
        // Paths reach us as UTF-8 strings; Buffer.from keeps them as typed.
        const paths = restArgs(args).slice(1).map((p) => Buffer.from(p));
        await writeStdout(image.dumpFiles(paths, { backingPathOnly: args.backingPathOnly }));
      });
    },
  },
  { variadic: true },
);
