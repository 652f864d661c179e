/**
 * Platforms (`os/arch[/variant]`) and which entry of an image index
 * serves one. The default is the host's architecture, always with os
 * `linux`: these are Linux images, whatever runs the pull. Architecture
 * names are Go's (amd64, arm64, 386, ppc64le…), as OCI uses them.
 */
import { UsageError } from '../../common/index.js';

export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant: string | undefined;
}

const NODE_ARCH: Record<string, string> = {
  x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64', loong64: 'loong64', mips: 'mips', mipsel: 'mipsle',
};

/** A variant left out means this one (OCI image-spec, "platform variants"). */
const DEFAULT_VARIANT: Record<string, string> = { arm64: 'v8' };

const PART = /^[a-z0-9_.-]+$/;

export function parsePlatform(text: string): Platform {
  const parts = text.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !PART.test(p))) {
    throw new UsageError(`--platform "${text}" is not os/arch or os/arch/variant (e.g. linux/arm64)`);
  }
  return { os: parts[0] ?? '', architecture: parts[1] ?? '', variant: parts[2] };
}

export function hostPlatform(): Platform {
  const architecture = NODE_ARCH[process.arch] ?? process.arch;
  let variant: string | undefined;
  if (architecture === 'arm') {
    const v = (process.config.variables as Record<string, unknown>).arm_version;
    variant = typeof v === 'string' || typeof v === 'number' ? `v${v}` : undefined;
  }
  return { os: 'linux', architecture, variant };
}

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

export interface IndexEntryPlatform {
  readonly os?: string;
  readonly architecture?: string;
  readonly variant?: string;
}

/**
 * How well `entry` serves `wanted`: undefined if not at all; lower is
 * better (0: the variant asked for; 1: no variant given where that is
 * the default or none was asked; 2: some other variant when none was asked).
 */
export function platformRank(entry: IndexEntryPlatform, wanted: Platform): number | undefined {
  if (entry.os !== wanted.os || entry.architecture !== wanted.architecture) return undefined;
  const implied = DEFAULT_VARIANT[wanted.architecture];
  const have = entry.variant ?? implied;
  const want = wanted.variant ?? implied;
  if (want === undefined) return have === undefined ? 0 : 2;
  if (have === want) return entry.variant === undefined ? 1 : 0;
  return wanted.variant === undefined && entry.variant !== undefined ? 2 : undefined;
}
