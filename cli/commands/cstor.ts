import { command } from '../command.js';

export default command({
  meta: { name: 'cstor', description: 'Read containers-storage (podman, buildah, skopeo): images, layers, layer tars' },
  subCommands: {
    images: () => import('./cstor-images.js').then((m) => m.default),
    layers: () => import('./cstor-layers.js').then((m) => m.default),
    'layer-tar': () => import('./cstor-layer-tar.js').then((m) => m.default),
  },
});
