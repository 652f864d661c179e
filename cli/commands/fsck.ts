import { fsck } from '../../src/repository/index.js';
import { command } from '../command.js';
import { EXIT_FAILURE, printJson } from '../output.js';
import { ProgressLine } from '../progress.js';
import { withRepository } from '../repo.js';

export default command({
  meta: { name: 'fsck', description: 'Check every object, stream and image of the repository' },
  args: {
    json: { type: 'boolean', description: 'print the report as JSON' },
  },
  async run({ args }) {
    const progress = new ProgressLine();
    const report = await withRepository(args, {}, (repo) => fsck(repo, (stage, done, total) => progress.update(`checking ${stage}`, done, total)));
    progress.done();
    if (args.json) {
      printJson(report);
    } else {
      for (const p of report.problems) process.stdout.write(`fsck: ${p.kind}: ${p.path}${p.detail ? `: ${p.detail}` : ''}\n`);
      process.stdout.write(
        `${report.objectsChecked} objects, ${report.streamsChecked} streams, ${report.imagesChecked} images checked: ` +
          `${report.ok ? 'ok' : `${report.problems.length} problem${report.problems.length === 1 ? '' : 's'}`}\n`,
      );
    }
    return report.ok ? 0 : EXIT_FAILURE;
  },
});
