/**
 * A deployment's origin file (`state/deploy/<id>/<id>.origin`), as bootc's
 * composefs backend writes it (state.rs `write_composefs_state`):
 *
 *   [origin]
 *   container-image-reference = ostree-unverified-image:docker://quay.io/org/os:latest
 *   [boot]
 *   boot_type = bls
 *   digest = <sha256 of kernel + initrd>
 *   [image]
 *   manifest_digest = sha256:<hex>
 *
 * The image reference is an ostree-container reference: a signature
 * policy prefix, then a containers-image transport and name.
 */
import { InputError } from '../../common/index.js';
import { iniValue, parseIni } from './ini.js';

export interface ImageSource {
  /** `docker`, `containers-storage`, `oci`, `oci-archive`, `dir`, … */
  readonly transport: string;
  /** The image name (or path) after the transport: `quay.io/org/os:latest`. */
  readonly name: string;
}

export interface Origin {
  /** The reference as written. */
  readonly imageReference: string;
  readonly source: ImageSource;
  /** Absent in origins written before bootc recorded it. */
  readonly manifestDigest: string | undefined;
  readonly bootType: string | undefined;
  readonly bootDigest: string | undefined;
}

const DIGEST = /^sha256:[0-9a-f]{64}$|^sha512:[0-9a-f]{128}$/;

/** Signature-policy prefixes of ostree-container references; the remote ones carry a remote name first. */
const POLICIES = ['ostree-unverified-image:', 'ostree-unverified-registry:', 'ostree-image-signed:', 'ostree-remote-image:', 'ostree-remote-registry:'];

/** Splits an ostree-container (or plain containers-image) reference into its transport and name. */
export function parseImageReference(reference: string, name: string): ImageSource {
  let rest = reference;
  let registryShorthand = false;
  const policy = POLICIES.find((p) => rest.startsWith(p));
  if (policy !== undefined) {
    rest = rest.slice(policy.length);
    registryShorthand = policy.endsWith('registry:');
    if (policy.startsWith('ostree-remote-')) {
      const colon = rest.indexOf(':');
      if (colon <= 0) throw new InputError(name, `image reference "${reference}" has no remote name`);
      rest = rest.slice(colon + 1);
    }
  }
  if (registryShorthand) return checked({ transport: 'docker', name: rest }, reference, name);
  if (rest.startsWith('docker://')) return checked({ transport: 'docker', name: rest.slice('docker://'.length) }, reference, name);
  if (rest.startsWith('registry:')) return checked({ transport: 'docker', name: rest.slice('registry:'.length) }, reference, name);
  const colon = rest.indexOf(':');
  if (colon <= 0) throw new InputError(name, `image reference "${reference}" names no transport (docker://, containers-storage:, oci:, …)`);
  return checked({ transport: rest.slice(0, colon), name: rest.slice(colon + 1) }, reference, name);
}

function checked(source: ImageSource, reference: string, name: string): ImageSource {
  if (source.name === '') throw new InputError(name, `image reference "${reference}" names no image`);
  if (!/^[a-z][a-z0-9-]*$/.test(source.transport)) throw new InputError(name, `image reference "${reference}" has an invalid transport "${source.transport}"`);
  return source;
}

/** Parses an origin file's bytes; `name` (its path) names it in errors. */
export function parseOrigin(bytes: Uint8Array, name: string): Origin {
  const doc = parseIni(bytes, name);
  const imageReference = iniValue(doc, 'origin', 'container-image-reference');
  if (imageReference === undefined || imageReference === '') {
    throw new InputError(name, 'has no [origin] container-image-reference: not a bootc deployment origin');
  }
  const source = parseImageReference(imageReference, name);
  const written = iniValue(doc, 'image', 'manifest_digest');
  const manifestDigest = written === '' ? undefined : written;
  if (manifestDigest !== undefined && !DIGEST.test(manifestDigest)) {
    throw new InputError(name, `[image] manifest_digest "${manifestDigest}" is not a sha256:<hex> digest`);
  }
  return {
    imageReference,
    source,
    manifestDigest,
    bootType: iniValue(doc, 'boot', 'boot_type'),
    bootDigest: iniValue(doc, 'boot', 'digest'),
  };
}
