import { sysrootStatus, type DeploymentStatus } from '../../src/sysroot/index.js';
import { command } from '../command.js';
import { printJson } from '../output.js';
import { bootState, sysrootArgs } from '../sysroot-args.js';

function role(d: DeploymentStatus): string {
  const roles = [d.booted && 'booted', d.staged && 'staged', d.rollback === true && 'rollback'].filter(Boolean);
  if (roles.length > 0) return roles.join(', ');
  return d.rollback === undefined ? 'unknown (no boot state for this sysroot)' : 'other';
}

function repositoryLine(d: DeploymentStatus): string {
  const r = d.repository;
  if (r.whole) return 'whole (tag, manifest, config, layers, composefs image)';
  const missing = Object.entries({ tag: r.tag, manifest: r.manifest, config: r.config, layers: r.layers, 'composefs image': r.composefsImage })
    .filter(([, ok]) => !ok)
    .map(([name]) => name);
  return `incomplete: missing ${missing.join(', ')}`;
}

const presence = (p: boolean | undefined): string => (p === undefined ? 'no containers-storage' : p ? 'present' : 'absent');

export default command({
  meta: { name: 'status', description: 'Every deployment: role, image, whether both stores hold it, its bound images' },
  args: { ...sysrootArgs, json: { type: 'boolean', description: 'print the status as JSON' } },
  async run({ args }) {
    const status = await sysrootStatus(args.sysroot, bootState(args));
    if (args.json) {
      printJson(status);
      return 0;
    }
    const out: string[] = [`sysroot ${status.sysroot}: ${status.deployments.length} deployment(s)`];
    for (const d of status.deployments) {
      out.push('', `deployment ${d.id}`, `  role:               ${role(d)}`, `  image:              ${d.imageReference ?? '(unknown)'}`);
      out.push(`  manifest:           ${d.manifestDigest ?? '(unknown)'}${d.manifestFrom === 'tagged image' ? ' (found through its tagged image)' : ''}`);
      out.push(`  repository:         ${repositoryLine(d)}`, `  containers-storage: ${presence(d.inContainersStorage)}`);
      if (d.boundImages === undefined) out.push('  bound images:       unknown');
      else if (d.boundImages.length === 0) out.push('  bound images:       none');
      else {
        out.push('  bound images:');
        for (const b of d.boundImages) out.push(`    ${b.entry} → ${b.image} (${presence(b.inContainersStorage)})`);
      }
      for (const p of d.problems) out.push(`  problem: ${p}`);
    }
    process.stdout.write(`${out.join('\n')}\n`);
    return 0;
  },
});
