/**
 * Validation of the names callers give streams, refs and tags. A name is a
 * path below a repository directory, so anything that could climb out of
 * it, or be read differently by another tool, is refused.
 */
import { UsageError } from '../../common/index.js';

const MAX_NAME = 4096;
const MAX_COMPONENT = 255;

function checkCommon(kind: string, name: string): void {
  if (name.length === 0) throw new UsageError(`${kind} name is empty`);
  if (name.length > MAX_NAME) throw new UsageError(`${kind} name is longer than ${MAX_NAME} characters`);
  if (name.includes('\0')) throw new UsageError(`${kind} name "${name.replace(/\0/g, '\\0')}" contains a NUL byte`);
}

/** A content identifier: one path component (e.g. `oci-layer-sha256:…`). */
export function checkContentId(contentId: string): string {
  checkCommon('stream', contentId);
  if (contentId.includes('/') || contentId === '.' || contentId === '..') {
    throw new UsageError(`stream name "${contentId}" must be a single path component`);
  }
  if (Buffer.byteLength(contentId) > MAX_COMPONENT) {
    throw new UsageError(`stream name "${contentId.slice(0, 40)}…" is longer than ${MAX_COMPONENT} bytes`);
  }
  return contentId;
}

/** A ref name below `refs/`: relative, no empty, `.` or `..` components. */
export function checkRefName(name: string): string {
  checkCommon('ref', name);
  if (name.startsWith('/')) throw new UsageError(`ref name "${name}" must be relative`);
  for (const component of name.split('/')) {
    if (component === '' || component === '.' || component === '..') {
      throw new UsageError(`ref name "${name}" has an empty, "." or ".." component`);
    }
    if (Buffer.byteLength(component) > MAX_COMPONENT) {
      throw new UsageError(`ref name "${name}" has a component longer than ${MAX_COMPONENT} bytes`);
    }
  }
  return name;
}

/**
 * OCI tags are one file under `streams/refs/oci/`: `/` and `%` are
 * percent-encoded exactly as composefs-rs does, so both tools find the tag.
 */
export function encodeTag(tag: string): string {
  checkCommon('tag', tag);
  return tag.replace(/%/g, '%25').replace(/\//g, '%2F');
}

/** The inverse of encodeTag, in one pass so `%252F` stays `%2F`. */
export function decodeTag(encoded: string): string {
  return encoded.replace(/%(25|2F)/gi, (_m, code: string) => (code === '25' ? '%' : '/'));
}
