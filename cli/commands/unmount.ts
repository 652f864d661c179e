import { unmountImage } from '../../src/mount/index.js';
import { command } from '../command.js';
import { printJson } from '../output.js';

export default command({
  meta: {
    name: 'unmount',
    description: 'Unmount a composefs mount made by `cfskit mount` (refusing anything else) and wait for its loop device to detach',
  },
  args: {
    mountpoint: { type: 'positional', required: true, valueHint: 'MOUNTPOINT', description: 'where the image is mounted' },
    json: { type: 'boolean', description: 'print what was unmounted and released as JSON' },
  },
  async run({ args }) {
    const unmounted = await unmountImage(args.mountpoint);
    if (args.json) printJson(unmounted);
  },
});
