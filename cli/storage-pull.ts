/**
 * Running the unified pull for `cfskit oci pull … --storage-root DIR` (or
 * `--sysroot DIR`): one progress display across both stages on a
 * terminal, bootc's protocol on --progress-fd, stage 2's stage events as
 * JSON on stderr for --progress json; the repository open for writing
 * meanwhile.
 */
import { Repository } from '../src/repository/index.js';
import { pullIntoStorage, type StoragePullOptions, type StoragePullResult } from '../src/pull/index.js';
import { JsonlProgressWriter, parseProgressFd, type TaskEvent } from '../src/progress/index.js';
import { bootcTag, prepareSystemStore, STORAGE_RUNROOT, SysrootLayout } from '../src/sysroot/index.js';
import { progressSink, type ProgressMode } from './import-progress.js';
import { TaskDisplay } from './task-display.js';

export interface StoragePullRequest {
  readonly reference: string;
  /** The repository, unless `sysroot` names it. */
  readonly repository: string;
  readonly sysroot: string | undefined;
  readonly options: Omit<StoragePullOptions, 'storageRoot'> & { readonly storageRoot: string | undefined };
  readonly progress: ProgressMode;
  readonly progressFd: string | undefined;
}

/** Where a `--sysroot` pull puts things: its repository, its store, bootc's tags. */
async function sysrootTargets(request: StoragePullRequest): Promise<{ repository: string; options: StoragePullOptions }> {
  if (request.sysroot === undefined) {
    if (request.options.storageRoot === undefined) throw new Error('a storage pull needs a store');
    return { repository: request.repository, options: { ...request.options, storageRoot: request.options.storageRoot } };
  }
  const layout = new SysrootLayout(request.sysroot);
  await prepareSystemStore(layout);
  return {
    repository: layout.repository,
    options: { ...request.options, storageRoot: layout.storage, runRoot: request.options.runRoot ?? STORAGE_RUNROOT, tagFor: bootcTag },
  };
}

export async function runStoragePull(request: StoragePullRequest): Promise<StoragePullResult> {
  const writer = request.progressFd !== undefined ? new JsonlProgressWriter(parseProgressFd(request.progressFd)) : undefined;
  const terminal = request.progress === 'bar' || (request.progress === 'auto' && process.stderr.isTTY) ? new TaskDisplay() : undefined;
  const stages = request.progress === 'json' ? progressSink('json') : undefined;
  const sinks = [writer?.sink, terminal?.sink].filter((s): s is (e: TaskEvent, required: boolean) => void => s !== undefined);
  let result: StoragePullResult | undefined;
  try {
    const targets = await sysrootTargets(request);
    const repo = await Repository.open(targets.repository, { write: true });
    try {
      result = await pullIntoStorage(repo, request.reference, {
        ...targets.options,
        ...(stages?.sink ? { progress: stages.sink } : {}),
        ...(sinks.length > 0 ? { events: (event: TaskEvent, required: boolean) => sinks.forEach((s) => s(event, required)) } : {}),
      });
    } finally {
      await repo.close();
    }
    return result;
  } finally {
    const done = result;
    terminal?.finish(
      done
        ? `${done.storeLayers.layers - done.storeLayers.present} of ${done.storeLayers.layers} layers fetched into ${done.store.root}, ` +
            `${done.stats.layers - done.stats.layersAlreadyPresent} imported in ${terminal.seconds} s`
        : undefined,
    );
    await writer?.close();
  }
}
