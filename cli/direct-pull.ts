/**
 * Running a pull from an OCI layout, an archive or a registry for
 * `cfskit oci pull`: progress as asked (a terminal display, stage events
 * as JSON on stderr, bootc's protocol on --progress-fd), the repository
 * open for writing meanwhile; `within` runs the pull in it (and whatever
 * the command does before and after, under the same lock).
 */
import { pullFromSource, type PullResult, type SourcePullOptions } from '../src/oci/index.js';
import { JsonlProgressWriter, parseProgressFd, type TaskEvent } from '../src/progress/index.js';
import { progressSink, type ProgressMode } from './import-progress.js';
import type { Repository } from '../src/repository/index.js';
import { withRepository, type SharedArgs } from './repo.js';
import { TaskDisplay } from './task-display.js';

export interface DirectPullRequest {
  readonly reference: string;
  readonly options: SourcePullOptions;
  readonly progress: ProgressMode;
  readonly progressFd: string | undefined;
}

export async function runDirectPull<T extends { readonly result: PullResult }>(
  location: SharedArgs,
  request: DirectPullRequest,
  within: (repo: Repository, pull: () => Promise<PullResult>) => Promise<T>,
): Promise<T> {
  const writer = request.progressFd !== undefined ? new JsonlProgressWriter(parseProgressFd(request.progressFd)) : undefined;
  const terminal = request.progress === 'bar' || (request.progress === 'auto' && process.stderr.isTTY) ? new TaskDisplay() : undefined;
  const stages = request.progress === 'json' ? progressSink('json') : undefined;
  const sinks = [writer?.sink, terminal?.sink].filter((s): s is (e: TaskEvent, required: boolean) => void => s !== undefined);
  let result: PullResult | undefined;
  try {
    return await withRepository(location, { write: true }, (repo) =>
      within(repo, async () => {
        result = await pullFromSource(repo, request.reference, {
          ...request.options,
          ...(stages?.sink ? { progress: stages.sink } : {}),
          ...(sinks.length > 0 ? { events: (event: TaskEvent, required: boolean) => sinks.forEach((s) => s(event, required)) } : {}),
        });
        return result;
      }),
    );
  } finally {
    const pulled: PullResult | undefined = result;
    terminal?.finish(pulled ? `${pulled.stats.layers - pulled.stats.layersAlreadyPresent} of ${pulled.stats.layers} layers fetched in ${terminal.seconds} s` : undefined);
    await writer?.close();
  }
}
