import { Repository } from '../../src/repository/index.js';
import { command } from '../command.js';
import { erofsVersionOption, selectedRepositoryPath } from '../repo.js';

export default command({
  meta: {
    name: 'init',
    description:
      'Create a composefs repository (meta.json; fs-verity on it unless --insecure), its images in EROFS format --erofs-version N (default 1), as `cfsctl init` does',
  },
  args: {
    path: { type: 'positional', required: false, valueHint: 'PATH', description: 'repository directory (default: --repo/--user/--system)' },
    algorithm: { type: 'enum', options: ['fsverity-sha512-12', 'fsverity-sha256-12'], default: 'fsverity-sha512-12', description: 'digest algorithm' },
    ensure: {
      type: 'boolean',
      description: 'open a repository that exists as it is (whatever its configuration), create one otherwise; a repository from before meta.json gets one',
    },
    resetMetadata: { type: 'boolean', description: 'first remove streams/, images/ and meta.json (objects/ stays); streams and images must be imported again' },
  },
  async run({ args }) {
    const path = args.path ?? selectedRepositoryPath(args);
    const options = { algorithm: args.algorithm, insecure: args.insecure, erofsVersion: erofsVersionOption(args) };
    if (args.resetMetadata) await Repository.resetMetadata(path);
    const created = (repo: Repository): string =>
      `Initialized composefs repository at ${path}\n  algorithm: ${repo.algorithm}\n` +
      `  verity:    ${repo.security === 'secure' ? 'required' : 'not required (insecure)'}\n`;
    if (args.ensure) {
      const { repository, status } = await Repository.ensure(path, options);
      try {
        const messages = {
          created: created(repository),
          opened: `Repository already initialized at ${path} (existing configuration preserved)\n`,
          upgraded: `Upgraded legacy repository at ${path}\n`,
        };
        process.stdout.write(messages[status]);
      } finally {
        await repository.close();
      }
      return 0;
    }
    const { repository, created: isNew } = await Repository.create(path, options);
    try {
      process.stdout.write(isNew ? created(repository) : `Repository already initialized at ${path}\n`);
    } finally {
      await repository.close();
    }
    return 0;
  },
});
