/**
 * Showing import progress: `bar` (a line per layer on a terminal), `json`
 * (one JSON object per line on stderr, for callers that relay it), `none`,
 * or `auto` (bar on a terminal, else none).
 */
import type { ProgressEvent, ProgressSink } from '../src/oci/index.js';
import { ProgressLine } from './progress.js';

export type ProgressMode = 'auto' | 'bar' | 'json' | 'none';

export function progressSink(mode: ProgressMode): { sink: ProgressSink | undefined; done(): void } {
  if (mode === 'json') {
    return { sink: (e: ProgressEvent) => process.stderr.write(`${JSON.stringify(e)}\n`), done: () => undefined };
  }
  if (mode === 'none' || (mode === 'auto' && !process.stderr.isTTY)) return { sink: undefined, done: () => undefined };
  const line = new ProgressLine(true);
  let current = '';
  const sink = (e: ProgressEvent): void => {
    const label =
      e.stage === 'layer' ? `layer ${e.index}/${e.count} ${(e.layer ?? '').slice(7, 19)}${e.skipped ? ' (present)' : ''}` : e.stage;
    if (label !== current && current.startsWith('layer')) {
      line.done();
      process.stderr.write(`${current} done\n`);
    }
    current = label;
    line.update(label, Math.round(e.bytesDone / 2 ** 20), Math.round(e.bytesTotal / 2 ** 20), ' MiB');
  };
  return { sink, done: () => line.done() };
}
