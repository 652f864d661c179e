/**
 * Running a pull from an OCI layout, an archive or a registry for
 * `cfskit oci pull`: progress as asked (a terminal display, stage events
 * as JSON on stderr, bootc's protocol on --progress-fd), the repository
 * open for writing meanwhile.
 */
import type { PullResult } from '../src/oci/cstor-pull.js';
import { pullFromSource, type SourcePullOptions } from '../src/oci/source-pull.js';
import { JsonlProgressWriter, parseProgressFd, type TaskEvent } from '../src/progress/index.js';
import { progressSink, type ProgressMode } from './import-progress.js';
import { withRepository } from './repo.js';
import { TaskDisplay } from './task-display.js';

export interface DirectPullRequest {
  readonly reference: string;
  readonly options: SourcePullOptions;
  readonly progress: ProgressMode;
  readonly progressFd: string | undefined;
}

export async function runDirectPull(request: DirectPullRequest): Promise<PullResult> {
  const writer = request.progressFd !== undefined ? new JsonlProgressWriter(parseProgressFd(request.progressFd)) : undefined;
  const terminal = request.progress === 'bar' || (request.progress === 'auto' && process.stderr.isTTY) ? new TaskDisplay() : undefined;
  const stages = request.progress === 'json' ? progressSink('json') : undefined;
  const sinks = [writer?.sink, terminal?.sink].filter((s): s is (e: TaskEvent, required: boolean) => void => s !== undefined);
  let result: PullResult | undefined;
  try {
    result = await withRepository({ write: true }, (repo) =>
      pullFromSource(repo, request.reference, {
        ...request.options,
        ...(stages?.sink ? { progress: stages.sink } : {}),
        ...(sinks.length > 0 ? { events: (event: TaskEvent, required: boolean) => sinks.forEach((s) => s(event, required)) } : {}),
      }),
    );
    return result;
  } finally {
    terminal?.finish(result ? `${result.stats.layers - result.stats.layersAlreadyPresent} of ${result.stats.layers} layers fetched in ${terminal.seconds} s` : undefined);
    await writer?.close();
  }
}
