/**
 * A child process for GC concurrency tests: imports the model image
 * `label` (a base layer chosen by BASE, shared with other images, and a
 * layer of its own from SEED), tags it, and prints "done" — all with the
 * repository open, as a real pull holds it.
 *   node gc-importer.js REPO LABEL BASE SEED
 */
import { Repository } from '../../src/repository/index.js';
import { concurrencyLayers, importModelImage } from './gc-model.js';

const [repoPath, label, baseArg, seedArg] = process.argv.slice(2);
if (!repoPath || !label || !baseArg || !seedArg) throw new Error('usage: gc-importer REPO LABEL BASE SEED');
const repo = await Repository.open(repoPath, { write: true });
try {
  await importModelImage(repo, label, concurrencyLayers(Number(baseArg), Number(seedArg)), `localhost/${label}:1`);
  process.stdout.write('done\n');
} finally {
  await repo.close();
}
