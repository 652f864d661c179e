/**
 * Splitstream content types: eight ASCII bytes read as a little-endian
 * u64, the tags composefs-oci stamps on the streams it writes.
 */

function tag(ascii: string): bigint {
  return Buffer.from(ascii, 'latin1').readBigUInt64LE(0);
}

export const CONTENT_TYPES: {
  readonly ociLayer: bigint;
  readonly ociConfig: bigint;
  readonly ociManifest: bigint;
  readonly ociBlob: bigint;
} = Object.freeze({
  ociLayer: tag('ocilayer'),
  ociConfig: tag('ociconfg'),
  ociManifest: tag('ocimanif'),
  ociBlob: tag('oci_blob'),
});

/** `0x…` plus the eight characters when they are printable ASCII. */
export function describeContentType(contentType: bigint): string {
  const bytes = Buffer.alloc(8);
  bytes.writeBigUInt64LE(BigInt.asUintN(64, contentType));
  const text = bytes.toString('latin1');
  const hex = `0x${contentType.toString(16)}`;
  return /^[\x21-\x7e]{8}$/.test(text) ? `${hex} ("${text}")` : hex;
}
