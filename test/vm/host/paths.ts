/** Where the harness finds the checkout it runs from and keeps its cache. */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout: this file runs as dist/test/vm/host/paths.js. */
export const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** Downloaded kernels and built initramfs images, never committed. */
export const CACHE_DIR = join(ROOT, '.cache/vm');

/** The guest's shell scripts, read from the source tree (tsc does not copy them). */
export const GUEST_DIR = join(ROOT, 'test/vm/guest');
