/**
 * The options of a pull that reads no containers-storage (`oci:`,
 * `oci-archive:`, `docker-archive:`, `docker://`): platform, registry
 * credentials and TLS, limits, and the bootc progress descriptor.
 */
import { UsageError } from '../common/index.js';
import type { SourcePullOptions } from '../src/oci/index.js';
import { parseCreds } from '../src/registry/index.js';
import { parsePlatform } from '../src/source/index.js';
import type { ArgsDef } from './command.js';

export const sourceArgs = {
  platform: { type: 'string', valueHint: 'OS/ARCH[/VARIANT]', description: 'the image of an index to pull (default: linux and this machine\'s architecture)' },
  creds: { type: 'string', valueHint: 'USER[:PASSWORD]', description: 'registry credentials (default: from the containers auth files)' },
  authfile: { type: 'string', valueHint: 'FILE', description: 'the auth file to read credentials from (default: $REGISTRY_AUTH_FILE, then the containers and Docker auth files)' },
  tlsVerify: { type: 'boolean', default: true, valued: true, description: 'verify the registry\'s TLS certificate (--tls-verify=false also allows plain HTTP)' },
  certDir: { type: 'string', valueHint: 'DIR', description: 'CA certificates (*.crt) and client certificate (*.cert, *.key) for the registry' },
  maxExpansion: { type: 'string', valueHint: 'RATIO', description: 'how many times its compressed size a layer may expand to (default 256; bombs are refused)' },
} as const satisfies ArgsDef;

export interface SourceArgValues {
  readonly platform?: string | undefined;
  readonly creds?: string | undefined;
  readonly authfile?: string | undefined;
  readonly tlsVerify?: boolean | undefined;
  readonly certDir?: string | undefined;
  readonly maxExpansion?: string | undefined;
}

/** The source options the command line gives. */
export function sourceOptions(values: SourceArgValues): SourcePullOptions {
  let maxExpansion: number | undefined;
  if (values.maxExpansion !== undefined) {
    maxExpansion = Number(values.maxExpansion);
    if (!Number.isFinite(maxExpansion) || maxExpansion < 1) throw new UsageError(`--max-expansion "${values.maxExpansion}" is not a ratio of at least 1`);
  }
  return {
    ...(values.platform !== undefined ? { platform: parsePlatform(values.platform) } : {}),
    ...(values.creds !== undefined ? { credentials: parseCreds(values.creds) } : {}),
    ...(values.authfile !== undefined ? { authFile: values.authfile } : {}),
    tls: { verify: values.tlsVerify !== false, ...(values.certDir !== undefined ? { certDir: values.certDir } : {}) },
    ...(maxExpansion !== undefined ? { maxExpansion } : {}),
  };
}

/** Options that only mean something for these sources, named when given to another. */
export function givenSourceOptions(values: SourceArgValues): string[] {
  const given: string[] = [];
  if (values.platform !== undefined) given.push('--platform');
  if (values.creds !== undefined) given.push('--creds');
  if (values.authfile !== undefined) given.push('--authfile');
  if (values.certDir !== undefined) given.push('--cert-dir');
  if (values.maxExpansion !== undefined) given.push('--max-expansion');
  // On by default, so only turning it off says something.
  if (values.tlsVerify === false) given.push('--tls-verify');
  return given;
}
