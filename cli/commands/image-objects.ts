import { openImageFile } from '../../src/image/reader.js';
import { command } from '../command.js';
import { writeStdout } from '../write.js';

export default command({
  meta: { name: 'image-objects', description: 'List the objects a composefs image file references (ALG:DIGEST, sorted)' },
  args: {
    image: { type: 'positional', required: true, valueHint: 'IMAGE_FILE', description: 'a composefs EROFS image file' },
  },
  async run({ args }) {
    const image = await openImageFile(args.image);
    try {
      const alg = image.hashAlg;
      await writeStdout(image.objects().map((o) => `${alg}:${o}\n`).join(''));
    } finally {
      image.close();
    }
  },
});
