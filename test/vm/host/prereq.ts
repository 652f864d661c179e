/**
 * What the host needs to run the VM suite. Root is not among them: apt-get
 * download, mkfs.ext4 -d, cpio and qemu (TCG) all work as a normal user.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { findExecutable } from './ldd.js';
import { ROOT } from './paths.js';
import { QEMU } from './qemu.js';
import { GUEST_TOOLS } from './rootfs.js';

const TOOLS = [QEMU, 'busybox', 'cpio', 'mkfs.ext4', 'ldd', ...GUEST_TOOLS];

/** Why the VM suite cannot run here, one reason each; empty when it can. */
export function missingPrerequisites(): string[] {
  if (process.platform !== 'linux' || process.arch !== 'x64') return [`needs x86-64 Linux (this is ${process.platform}/${process.arch})`];
  const missing = TOOLS.filter((tool) => !findExecutable(tool)).map((tool) => `${tool} is not installed (run npm run setup as root)`);
  if (!existsSync(join(ROOT, 'host-bindings/build/Release/cfskit_host.node'))) missing.push('the native addon is not built (run npm run build)');
  return missing;
}
