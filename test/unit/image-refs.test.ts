/**
 * The names of the config refs that hold an OCI image's composefs images,
 * as composefs-rs 0.9 writes them, and the kernel argument of an image.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { kernelArgument } from '../../src/image/karg.js';
import { imageRefName, imageRefNames, imageVariant, isImageRefName, parseImageRefName } from '../../src/oci/index.js';

test('every format × bootable × xattr mode has composefs-rs`s name, and reads back', () => {
  const cases: [0 | 1 | 2, boolean, 'allowlist-only' | 'keep-user-xattrs', string][] = [
    [2, false, 'allowlist-only', 'composefs.image'],
    [1, false, 'allowlist-only', 'composefs.image.v1'],
    [0, false, 'allowlist-only', 'composefs.image.v1'],
    [2, true, 'allowlist-only', 'composefs.image.boot'],
    [1, true, 'allowlist-only', 'composefs.image.boot.v1'],
    [1, true, 'keep-user-xattrs', 'composefs.image.boot.v1.xattrs=keep-user-xattrs'],
    [2, true, 'keep-user-xattrs', 'composefs.image.boot.xattrs=keep-user-xattrs'],
    [1, false, 'keep-user-xattrs', 'composefs.image.v1.xattrs=keep-user-xattrs'],
  ];
  for (const [version, bootable, xattrs, name] of cases) {
    const variant = imageVariant(version, bootable, xattrs);
    assert.is(imageRefName(variant), name);
    assert.equal(parseImageRefName(name), variant, name);
  }
  const all = imageRefNames();
  assert.is(new Set(all).size, 8);
  for (const name of all) assert.ok(parseImageRefName(name) && isImageRefName(name), name);
});

test('other names are not variants; anything starting composefs.image holds an image for GC', () => {
  for (const name of ['sha256:ab', 'config:sha256:ab', 'composefs.image.v2', 'composefs.image.xattrs=allowlist-only', 'composefs.image.boot.xattrs=bogus']) {
    assert.is(parseImageRefName(name), undefined, name);
  }
  assert.ok(isImageRefName('composefs.image.v3.something-new'));
  assert.not.ok(isImageRefName('sha256:0123'));
});

test('compute-karg: V0/V1 name the format, V2 the legacy composefs=; ? makes verity optional', () => {
  const id = { hashAlg: 'sha256' as const, hex: 'ab'.repeat(32), digest: new Uint8Array(32) };
  assert.is(kernelArgument(id, 1), `composefs.digest=v1-sha256-12:${id.hex}`);
  assert.is(kernelArgument(id, 0, true), `composefs.digest=?v1-sha256-12:${id.hex}`);
  assert.is(kernelArgument(id, 2), `composefs=${id.hex}`);
  assert.is(kernelArgument(id, 2, true), `composefs=?${id.hex}`);
});

test.run();
