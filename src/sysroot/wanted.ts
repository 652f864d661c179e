/**
 * Which images of the system containers-storage a system still needs: the
 * images of live deployments (by manifest digest, and by the name their
 * origin pulled) and the images they bind (by reference). An image
 * matches by any of its names or manifest digests; names are compared
 * fully qualified, as podman stores them.
 */
import { candidateNames, formatReference, parseReference } from '../cstor/index.js';

export interface StoreImage {
  readonly id: string;
  readonly names: readonly string[];
  readonly digests: readonly string[];
}

export class WantedImages {
  private readonly names = new Set<string>();
  private readonly digests = new Set<string>();

  addDigest(digest: string): void {
    this.digests.add(digest);
  }

  /** A reference as an origin or `Image=` gives it; an unparsable one matches by its exact text only. */
  addReference(reference: string): void {
    let ref;
    try {
      ref = parseReference(reference);
    } catch {
      this.names.add(reference);
      return;
    }
    if (ref.digest !== undefined) {
      // name@digest: the digest decides (the name may have moved on).
      this.digests.add(ref.digest);
      if (ref.tag === undefined) return;
    }
    for (const name of candidateNames({ ...ref, digest: undefined })) this.names.add(name);
    this.names.add(formatReference({ ...ref, digest: undefined }));
  }

  matches(image: StoreImage): boolean {
    return image.names.some((n) => this.names.has(n)) || image.digests.some((d) => this.digests.has(d));
  }
}
