import { describeFsckProblem, fsck, fsckCounts, type FsckReport } from '../../src/repository/index.js';
import { command } from '../command.js';
import { EXIT_FAILURE, printJson } from '../output.js';
import { ProgressLine } from '../progress.js';
import { withRepository } from '../repo.js';

/** cfsctl's FsckReply (snake_case), then cfskit's structured problems. */
export function fsckJson(report: FsckReport): Record<string, unknown> {
  const c = fsckCounts(report);
  return {
    ok: report.ok,
    has_metadata: report.hasMetadata,
    objects_checked: report.objectsChecked,
    objects_corrupted: c.objectsCorrupted,
    streams_checked: report.streamsChecked,
    streams_corrupted: c.streamsCorrupted,
    images_checked: report.imagesChecked,
    images_corrupted: c.imagesCorrupted,
    broken_links: c.brokenLinks,
    missing_objects: c.missingObjects,
    errors: report.problems.map(describeFsckProblem),
    problems: report.problems,
  };
}

/** cfsctl's report text (composefs-rs `FsckResult`'s Display). */
export function fsckText(report: FsckReport): string {
  const c = fsckCounts(report);
  const meta = report.problems.some((p) => p.kind === 'metadata-parse-failed') ? 'error' : report.hasMetadata ? 'ok' : 'absent';
  const lines = [
    `meta.json: ${meta}`,
    `objects: ${report.objectsChecked - c.objectsCorrupted}/${report.objectsChecked} ok`,
    `streams: ${report.streamsChecked - c.streamsCorrupted}/${report.streamsChecked} ok`,
    `images: ${report.imagesChecked - c.imagesCorrupted}/${report.imagesChecked} ok`,
  ];
  if (c.brokenLinks > 0) lines.push(`broken symlinks: ${c.brokenLinks}`);
  if (c.missingObjects > 0) lines.push(`missing objects: ${c.missingObjects}`);
  if (report.ok) lines.push('status: ok');
  else lines.push(`status: ${report.problems.length} error(s)`, ...report.problems.map((p) => `  - ${describeFsckProblem(p)}`));
  return `${lines.join('\n')}\n`;
}

export default command({
  meta: { name: 'fsck', description: 'Check every object, stream and image of the repository, as `cfsctl fsck` does' },
  args: {
    json: { type: 'boolean', description: 'print the report as JSON (cfsctl\'s fields, and each problem structured); exits 0 unless the check itself fails' },
    metadataOnly: { type: 'boolean', description: 'do not read objects\' content: check only streams, images and links (much faster)' },
  },
  async run({ args }) {
    const progress = new ProgressLine();
    const report = await withRepository(args, {}, (repo) =>
      fsck(repo, { metadataOnly: args.metadataOnly === true, progress: (stage, done, total) => progress.update(`checking ${stage}`, done, total) }),
    );
    progress.done();
    if (args.json) {
      printJson(fsckJson(report));
      return 0;
    }
    process.stdout.write(fsckText(report));
    return report.ok ? 0 : EXIT_FAILURE;
  },
});
