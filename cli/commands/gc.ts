import { gc, type GcResult } from '../../src/gc/index.js';
import { command } from '../command.js';
import { printJson } from '../output.js';
import { ProgressLine } from '../progress.js';
import { withRepository } from '../repo.js';

const args = {
  root: { type: 'string', multiple: true, alias: 'r', valueHint: 'NAME', description: 'also keep this stream (content ID) or image (ID); may repeat' },
  dryRun: { type: 'boolean', alias: 'n', description: 'report what would be removed without removing anything' },
  json: { type: 'boolean', description: 'print the result as JSON' },
} as const;

/** cfsctl's lines, byte for byte; what cfskit adds goes to stderr. */
export function printGcResult(result: GcResult): void {
  if (result.dryRun) process.stdout.write('Dry run (no files deleted):\n');
  process.stdout.write(`Objects: ${result.objectsRemoved} removed (${result.objectsBytes} bytes)\n`);
  if (result.imagesPruned > 0 || result.streamsPruned > 0) {
    process.stdout.write(`Pruned symlinks: ${result.imagesPruned} images, ${result.streamsPruned} streams\n`);
  }
  for (const m of result.mounted) process.stderr.write(`kept mounted image ${m.id} (${m.seenAt})\n`);
  for (const m of result.missing) process.stderr.write(`warning: ${m.referencedBy} names ${m.id}, which the repository lacks (see cfskit fsck)\n`);
  if (result.tempFilesRemoved > 0) {
    process.stderr.write(`${result.dryRun ? 'would remove' : 'removed'} ${result.tempFilesRemoved} temporary file(s) of interrupted writers\n`);
  }
}

export default command({
  meta: { name: 'gc', description: 'Remove objects no ref, --root or mounted image reaches, then links left pointing at nothing' },
  args,
  async run({ args: parsed }) {
    const dryRun = parsed.dryRun === true;
    const progress = new ProgressLine();
    const result = await withRepository(parsed, { write: !dryRun }, (repo) =>
      gc(repo, { dryRun, roots: parsed.root, progress: (stage, done, total) => progress.update(stage, done, total) }),
    ).finally(() => progress.done());
    if (parsed.json) printJson(result);
    else printGcResult(result);
    return 0;
  },
});
