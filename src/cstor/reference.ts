/**
 * Image names as podman writes them into images.json: fully qualified
 * (`docker.io/library/fedora:latest`, `localhost/x:1`,
 * `quay.io/a/b@sha256:…`). A short name is expanded the way the Docker
 * reference grammar does (`fedora` → `docker.io/library/fedora:latest`);
 * lookups also try `localhost/` and, like podman, any registry's image
 * whose repository ends with the short name.
 */
import { UsageError } from '../../common/index.js';
import { isDigest } from './records.js';

export interface ImageReference {
  /** The repository with its registry: `docker.io/library/fedora`. */
  readonly repository: string;
  /** The repository as given, without registry defaults: `fedora`. */
  readonly path: string;
  readonly tag: string | undefined;
  readonly digest: string | undefined;
  /** Whether the name included a registry (`quay.io/…`, `localhost/…`). */
  readonly qualified: boolean;
}

const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DOMAIN = /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?$/;

/** Parses a reference; throws a UsageError if it is not one. */
export function parseReference(text: string): ImageReference {
  const bad = (why: string): never => {
    throw new UsageError(`invalid image name "${text}": ${why}`);
  };
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isDigest(digest)) bad(`"${digest}" is not a digest`);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) bad(`"${tag}" is not a tag`);
  }
  if (rest === '') bad('no repository');
  const parts = rest.split('/');
  const first = parts[0] ?? '';
  const qualified = parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (qualified && !DOMAIN.test(first)) bad(`"${first}" is not a registry`);
  const pathParts = qualified ? parts.slice(1) : parts;
  for (const p of pathParts) {
    if (!COMPONENT.test(p)) bad(`"${p}" is not a valid repository component (lowercase letters, digits, separators)`);
  }
  const path = pathParts.join('/');
  const domain = qualified ? first : 'docker.io';
  const repoPath = domain === 'docker.io' && pathParts.length === 1 ? `library/${path}` : path;
  return { repository: `${domain}/${repoPath}`, path, tag, digest, qualified };
}

/** `repository[:tag][@digest]`, with `latest` when neither is given. */
export function formatReference(ref: Pick<ImageReference, 'repository' | 'tag' | 'digest'>): string {
  const tag = ref.tag ?? (ref.digest ? undefined : 'latest');
  return `${ref.repository}${tag ? `:${tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/** The fully qualified form of `text` (`fedora` → `docker.io/library/fedora:latest`). */
export function normalizeName(text: string): string {
  return formatReference(parseReference(text));
}

/**
 * The exact names to look for, most specific first: the normalised name
 * and, for a short name, the same under `localhost/`.
 */
export function candidateNames(ref: ImageReference): string[] {
  const names = [formatReference(ref)];
  if (!ref.qualified) names.push(formatReference({ ...ref, repository: `localhost/${ref.path}` }));
  return names;
}

/**
 * Whether a stored name matches a short name on any registry: its
 * repository ends with `/<path>` and its tag (or digest) is the one asked.
 */
export function matchesShortName(stored: string, ref: ImageReference): boolean {
  if (ref.qualified) return false;
  let parsed: ImageReference;
  try {
    parsed = parseReference(stored);
  } catch {
    return false;
  }
  if (!parsed.repository.endsWith(`/${ref.path}`)) return false;
  if (ref.digest) return parsed.digest === ref.digest;
  return (parsed.tag ?? 'latest') === (ref.tag ?? 'latest') && parsed.digest === undefined;
}
