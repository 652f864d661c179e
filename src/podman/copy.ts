/**
 * The install path: an image in one containers-storage (the host's) copied
 * into another (the target disk's) by skopeo — a real copy, layer by
 * layer, that keeps the manifest and config byte for byte and needs no
 * podman database on either side (so the source store's run root does
 * not matter). Layers the target has already are not copied again.
 */
import { CfskitError } from '../../common/index.js';
import { podmanMessage, runBounded, storeTransport, withStoreEnv, type StoreLocation } from './run.js';

export interface CopyOptions {
  readonly skopeo?: string;
  readonly timeoutMs?: number;
  readonly onLine?: (line: string) => void;
}

/** Copies the image with ID `imageId` in `from` into `to`, named `name` there. */
export async function copyBetweenStores(from: StoreLocation, to: StoreLocation, imageId: string, name: string, options: CopyOptions = {}): Promise<void> {
  const skopeo = options.skopeo ?? 'skopeo';
  const args = ['copy', '--remove-signatures', `${storeTransport(from)}@${imageId}`, `${storeTransport(to)}${name}`];
  const subject = `containers-storage:${name} from ${from.root} to ${to.root}`;
  const ran = await withStoreEnv(to, {}, (env) =>
    runBounded(skopeo, args, { env, subject, timeoutMs: options.timeoutMs ?? 3_600_000, ...(options.onLine ? { onStderrLine: options.onLine } : {}) }),
  );
  if (ran.status !== 0) throw new CfskitError('system', `${subject}: skopeo could not copy it: ${podmanMessage(ran)}`);
}
