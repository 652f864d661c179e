/** Printing digests as `fsverity digest` does; no wasm needed. */
import type { HashAlg } from '../../common/index.js';

/** `sha512:<hex>`. */
export function formatDigest(d: { readonly hashAlg: HashAlg; readonly hex: string }): string {
  return `${d.hashAlg}:${d.hex}`;
}
