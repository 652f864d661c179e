import { command } from '../command.js';

export default command({
  meta: { name: 'oci', description: 'OCI images in the repository: pull from containers-storage, list, inspect, tag, layers, composefs images, mount' },
  subCommands: {
    pull: () => import('./oci-pull.js').then((m) => m.default),
    images: () => import('./oci-images.js').then((m) => m.default),
    inspect: () => import('./oci-inspect.js').then((m) => m.default),
    tag: () => import('./oci-tag.js').then((m) => m.default),
    untag: () => import('./oci-untag.js').then((m) => m.default),
    layer: () => import('./oci-layer.js').then((m) => m.default),
    'import-layer': () => import('./oci-import-layer.js').then((m) => m.default),
    'compute-id': () => import('./oci-compute-id.js').then((m) => m.default),
    fsck: () => import('./oci-fsck.js').then((m) => m.default),
    copy: () => import('./oci-copy.js').then((m) => m.default),
    dump: () => import('./oci-dump.js').then((m) => m.default),
    mount: () => import('./oci-mount.js').then((m) => m.default),
  },
});
