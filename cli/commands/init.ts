import { Repository } from '../../src/repository/index.js';
import { command } from '../command.js';
import { selectedRepositoryPath } from '../repo.js';

export default command({
  meta: { name: 'init', description: 'Create a composefs repository (meta.json; fs-verity on it unless --insecure)' },
  args: {
    path: { type: 'positional', required: false, valueHint: 'PATH', description: 'repository directory (default: --repo/--user/--system)' },
    algorithm: { type: 'enum', options: ['fsverity-sha512-12', 'fsverity-sha256-12'], default: 'fsverity-sha512-12', description: 'digest algorithm' },
    insecure: { type: 'boolean', description: 'do not require fs-verity (for file systems without it)' },
  },
  async run({ args }) {
    const path = args.path ?? selectedRepositoryPath(args);
    const repo = await Repository.init(path, { algorithm: args.algorithm, insecure: args.insecure === true });
    try {
      process.stdout.write(`Initialized composefs repository at ${path}\n`);
      process.stdout.write(`  algorithm: ${repo.algorithm}\n`);
      process.stdout.write(`  verity:    ${repo.security === 'secure' ? 'required' : 'not required (insecure)'}\n`);
    } finally {
      await repo.close();
    }
  },
});
