/**
 * Running the unified pull for `cfskit oci pull … --storage-root DIR` (or
 * `--sysroot DIR`): one progress display across both stages on a
 * terminal, bootc's protocol on --progress-fd, stage 2's stage events as
 * JSON on stderr for --progress json; the repository open for writing
 * meanwhile.
 */
import type { PullResult } from '../src/oci/index.js';
import { pullIntoStorage, type StoragePullOptions, type StoragePullResult } from '../src/pull/index.js';
import { JsonlProgressWriter, parseProgressFd, type TaskEvent } from '../src/progress/index.js';
import type { Repository } from '../src/repository/index.js';
import { bootcTag, prepareSystemStore, STORAGE_RUNROOT, SysrootLayout } from '../src/sysroot/index.js';
import { progressSink, type ProgressMode } from './import-progress.js';
import { withRepository, type SharedArgs } from './repo.js';
import { TaskDisplay } from './task-display.js';

export interface StoragePullRequest {
  readonly reference: string;
  /** The system whose repository and store these are, if `--sysroot`. */
  readonly sysroot: string | undefined;
  readonly options: Omit<StoragePullOptions, 'storageRoot'> & { readonly storageRoot: string | undefined };
  readonly progress: ProgressMode;
  readonly progressFd: string | undefined;
}

/** Where a `--sysroot` pull puts things: its repository, its store, bootc's tags. */
async function sysrootTargets(location: SharedArgs, request: StoragePullRequest): Promise<{ location: SharedArgs; options: StoragePullOptions }> {
  if (request.sysroot === undefined) {
    if (request.options.storageRoot === undefined) throw new Error('a storage pull needs a store');
    return { location, options: { ...request.options, storageRoot: request.options.storageRoot } };
  }
  const layout = new SysrootLayout(request.sysroot);
  await prepareSystemStore(layout);
  return {
    location: { repo: layout.repository, erofsVersion: location.erofsVersion },
    options: { ...request.options, storageRoot: layout.storage, runRoot: request.options.runRoot ?? STORAGE_RUNROOT, tagFor: bootcTag },
  };
}

/**
 * Runs the pull in the repository `location` names (or the sysroot's),
 * `within` wrapping it under the same lock as for the other sources.
 */
export async function runStoragePull<T extends { readonly result: PullResult }>(
  location: SharedArgs,
  request: StoragePullRequest,
  within: (repo: Repository, pull: () => Promise<PullResult>) => Promise<T>,
): Promise<{ outcome: T; stored: StoragePullResult }> {
  const writer = request.progressFd !== undefined ? new JsonlProgressWriter(parseProgressFd(request.progressFd)) : undefined;
  const terminal = request.progress === 'bar' || (request.progress === 'auto' && process.stderr.isTTY) ? new TaskDisplay() : undefined;
  const stages = request.progress === 'json' ? progressSink('json') : undefined;
  const sinks = [writer?.sink, terminal?.sink].filter((s): s is (e: TaskEvent, required: boolean) => void => s !== undefined);
  let result: StoragePullResult | undefined;
  try {
    const targets = await sysrootTargets(location, request);
    const outcome = await withRepository(targets.location, { write: true }, (repo) =>
      within(repo, async () => {
        result = await pullIntoStorage(repo, request.reference, {
          ...targets.options,
          ...(stages?.sink ? { progress: stages.sink } : {}),
          ...(sinks.length > 0 ? { events: (event: TaskEvent, required: boolean) => sinks.forEach((s) => s(event, required)) } : {}),
        });
        return result;
      }),
    );
    if (!result) throw new Error('the storage pull returned without a result');
    return { outcome, stored: result };
  } finally {
    const done: StoragePullResult | undefined = result;
    terminal?.finish(
      done
        ? `${done.storeLayers.layers - done.storeLayers.present} of ${done.storeLayers.layers} layers fetched into ${done.store.root}, ` +
            `${done.stats.layers - done.stats.layersAlreadyPresent} imported in ${terminal.seconds} s`
        : undefined,
    );
    await writer?.close();
  }
}
