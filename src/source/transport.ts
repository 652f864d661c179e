/**
 * Source references as skopeo spells them, for the transports a pull
 * reads without a container engine: `oci:DIR[:TAG]`,
 * `oci-archive:FILE[:TAG]`, `docker-archive:FILE[:REF]` and
 * `docker://REF`. For `oci:` and `oci-archive:` a colon after the last
 * slash starts the tag (composefs-rs reads `oci:` so); in
 * `docker-archive:` the first colon ends the path, as REF has its own.
 */
import { UsageError } from '../../common/index.js';
import { DockerArchiveSource } from './docker-archive.js';
import type { ImageSource } from './image-source.js';
import { OciLayoutSource } from './oci-layout.js';
import { RegistrySource, type RegistrySourceOptions } from './registry-source.js';

export const TRANSPORTS = ['oci:', 'oci-archive:', 'docker-archive:', 'docker://'] as const;

export function isSourceReference(text: string): boolean {
  return TRANSPORTS.some((t) => text.startsWith(t));
}

/** `path[:tag]` with the tag after the last slash. */
export function splitPathTag(body: string): { path: string; tag: string | undefined } {
  const colon = body.lastIndexOf(':');
  if (colon < 0 || body.slice(colon + 1).includes('/')) return { path: body, tag: undefined };
  return { path: body.slice(0, colon), tag: body.slice(colon + 1) || undefined };
}

export async function openSource(reference: string, options: RegistrySourceOptions = {}): Promise<ImageSource> {
  if (reference.startsWith('docker://')) return RegistrySource.open(reference, options);
  const needPath = (body: string, transport: string): string => {
    if (body === '') throw new UsageError(`${transport} needs a path (${reference})`);
    return body;
  };
  if (reference.startsWith('oci:')) {
    const { path, tag } = splitPathTag(reference.slice('oci:'.length));
    return OciLayoutSource.openDirectory(reference, needPath(path, 'oci:'), tag);
  }
  if (reference.startsWith('oci-archive:')) {
    const { path, tag } = splitPathTag(reference.slice('oci-archive:'.length));
    return OciLayoutSource.openArchive(reference, needPath(path, 'oci-archive:'), tag);
  }
  if (reference.startsWith('docker-archive:')) {
    const body = reference.slice('docker-archive:'.length);
    const colon = body.indexOf(':');
    const path = colon < 0 ? body : body.slice(0, colon);
    const ref = colon < 0 ? undefined : body.slice(colon + 1) || undefined;
    return DockerArchiveSource.open(reference, needPath(path, 'docker-archive:'), ref);
  }
  throw new UsageError(`unknown transport in "${reference}" (expected one of ${TRANSPORTS.join(', ')} or containers-storage:)`);
}
