import { describeOciProblem, ociFsck } from '../../src/oci/index.js';
import { command } from '../command.js';
import { EXIT_FAILURE, printJson } from '../output.js';
import { withRepository } from '../repo.js';
import { fsckJson, fsckText } from './fsck.js';

export default command({
  meta: {
    name: 'fsck',
    description:
      'Check the repository and its OCI images (manifest and config digests, layer refs, each layer stream\'s tar to its end), as `cfsctl oci fsck` does and more',
  },
  args: {
    image: { type: 'positional', required: false, valueHint: 'IMAGE', description: 'only this image (tag or @manifest-digest)' },
    json: { type: 'boolean', description: 'print the report as JSON (cfsctl\'s fields); exits 0 unless the check itself fails' },
    metadataOnly: { type: 'boolean', description: 'do not read objects\' content in the repository check' },
  },
  async run({ args }) {
    const report = await withRepository(args, {}, (repo) => ociFsck(repo, { ...(args.image ? { image: args.image } : {}), metadataOnly: args.metadataOnly === true }));
    if (args.json) {
      printJson({
        ok: report.ok,
        images_checked: report.imagesChecked,
        images_corrupted: report.imagesCorrupted,
        errors: report.problems.map(describeOciProblem),
        repo: fsckJson(report.repo),
        problems: report.problems,
      });
      return 0;
    }
    let text = fsckText(report.repo);
    text += `oci images: ${report.imagesChecked - report.imagesCorrupted}/${report.imagesChecked} ok\n`;
    if (report.problems.length > 0) text += `oci errors: ${report.problems.length}\n${report.problems.map((p) => `  - ${describeOciProblem(p)}\n`).join('')}`;
    process.stdout.write(text);
    return report.ok ? 0 : EXIT_FAILURE;
  },
});
