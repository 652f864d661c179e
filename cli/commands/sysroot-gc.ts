import { UsageError } from '../../common/index.js';
import { sysrootGc, type SysrootGcResult } from '../../src/sysroot/index.js';
import { command } from '../command.js';
import { printJson } from '../output.js';
import { bootState, sysrootArgs } from '../sysroot-args.js';
import { printGcResult } from './gc.js';

const args = {
  ...sysrootArgs,
  dryRun: { type: 'boolean', alias: 'n', description: 'report what would be removed from both stores without removing anything' },
  json: { type: 'boolean', description: 'print the result as JSON' },
  podman: { type: 'string', valueHint: 'PATH', description: 'the podman to prune the containers-storage with (default podman)' },
  runroot: { type: 'string', valueHint: 'DIR', description: 'podman\'s runtime directory for the store (default /run/bootc/storage)' },
  podmanTimeout: { type: 'string', valueHint: 'SECONDS', default: '120', description: 'how long one podman call may take (a locked store makes it wait)' },
} as const;

function printResult(result: SysrootGcResult): void {
  const verb = result.dryRun ? 'would remove' : 'removed';
  const lines: string[] = [];
  for (const t of result.tagsAdded) lines.push(`${result.dryRun ? 'would tag' : 'tagged'} ${t}`);
  for (const t of result.tagsRemoved) lines.push(`${result.dryRun ? 'would untag' : 'untagged'} ${t}`);
  process.stdout.write(lines.map((l) => `${l}\n`).join(''));
  printGcResult(result.repository);
  const cs = result.containersStorage;
  if (!cs.present) {
    process.stdout.write(`containers-storage: none at ${cs.path}\n`);
  } else {
    if (cs.pruningSkipped !== undefined) process.stdout.write(`containers-storage: nothing pruned: ${cs.pruningSkipped}\n`);
    process.stdout.write(`containers-storage: ${verb} ${cs.removed.length} image(s), kept ${cs.kept.length}\n`);
    for (const i of cs.removed) process.stdout.write(`  ${verb} ${i.id} ${i.names.join(' ')}\n`);
    for (const f of cs.failed) process.stdout.write(`  could not remove ${f.id}: ${f.message}\n`);
  }
  for (const p of result.problems) process.stderr.write(`problem: ${p}\n`);
}

export default command({
  meta: { name: 'gc', description: 'Collect the repository and prune the system containers-storage, keeping what every deployment needs' },
  args,
  async run({ args: parsed }) {
    const seconds = Number(parsed.podmanTimeout);
    if (!Number.isFinite(seconds) || seconds <= 0) throw new UsageError(`--podman-timeout must be a positive number of seconds (got "${parsed.podmanTimeout}")`);
    const result = await sysrootGc(parsed.sysroot, {
      ...bootState(parsed),
      dryRun: parsed.dryRun === true,
      podman: {
        timeoutMs: seconds * 1000,
        ...(parsed.podman !== undefined ? { podman: parsed.podman } : {}),
        ...(parsed.runroot !== undefined ? { runRoot: parsed.runroot } : {}),
      },
    });
    if (parsed.json) printJson(result);
    else printResult(result);
    return result.containersStorage.failed.length > 0 ? 1 : 0;
  },
});
