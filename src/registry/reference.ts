/**
 * `docker://` references as containers/image reads them: a Docker image
 * reference (`quay.io/fedora/fedora:41`, `localhost:5000/app@sha256:…`, a
 * short `fedora` meaning `docker.io/library/fedora:latest`), split into
 * the registry to talk to and the repository on it.
 */
import { parseReference } from '../cstor/index.js';
import { UsageError } from '../../common/index.js';

export const DOCKER_PREFIX = 'docker://';

export interface RegistryReference {
  /** The registry as named (`docker.io`, `localhost:5000`): the auth-file key. */
  readonly registry: string;
  /** Where its API is (`registry-1.docker.io` for Docker Hub). */
  readonly apiHost: string;
  /** The repository on it (`library/fedora`). */
  readonly repository: string;
  readonly tag: string | undefined;
  readonly digest: string | undefined;
  /** A tag or digest for the manifest endpoint (`latest` when none). */
  readonly manifestRef: string;
  /** `registry/repository[:tag][@digest]`. */
  readonly name: string;
}

export function parseRegistryReference(text: string): RegistryReference {
  const body = text.startsWith(DOCKER_PREFIX) ? text.slice(DOCKER_PREFIX.length) : text;
  if (body.startsWith('/') || body === '') throw new UsageError(`invalid docker:// reference "${text}": it needs a repository after //`);
  const ref = parseReference(body);
  const slash = ref.repository.indexOf('/');
  const registry = ref.repository.slice(0, slash);
  const repository = ref.repository.slice(slash + 1);
  const apiHost = registry === 'docker.io' ? 'registry-1.docker.io' : registry;
  const tag = ref.digest === undefined ? (ref.tag ?? 'latest') : ref.tag;
  return {
    registry,
    apiHost,
    repository,
    tag,
    digest: ref.digest,
    manifestRef: ref.digest ?? tag ?? 'latest',
    name: `${registry}/${repository}${tag ? `:${tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`,
  };
}
