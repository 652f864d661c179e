import { once } from 'node:events';
import { command } from '../command.js';
import { withRepository } from '../repo.js';

export default command({
  meta: { name: 'cat', description: 'Write the original bytes of a stream (content id, refs/NAME or digest) to stdout' },
  args: {
    name: { type: 'positional', required: true, valueHint: 'NAME', description: 'stream to reassemble' },
  },
  async run({ args }) {
    await withRepository(args, {}, async (repo) => {
      await repo.streams.cat(args.name, process.stdout);
      if (process.stdout.writableNeedDrain) await once(process.stdout, 'drain');
    });
  },
});
