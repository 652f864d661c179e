import { command } from '../command.js';
import { IMAGE_ARG_HELP, withImageArg } from '../image-arg.js';
import { writeStdout } from '../write.js';

export default command({
  meta: { name: 'image-objects', description: 'List the objects a composefs image references (ALG:DIGEST, sorted)' },
  args: {
    image: { type: 'positional', required: true, valueHint: 'IMAGE', description: IMAGE_ARG_HELP },
  },
  async run({ args }) {
    await withImageArg(args, args.image, async (image) => {
      const alg = image.hashAlg;
      await writeStdout(image.objects().map((o) => `${alg}:${o}\n`).join(''));
    });
  },
});
