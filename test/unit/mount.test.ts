/** Pure parts of mounting: mountinfo lines, the mount a path reaches, the IMAGE argument rule. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isRepositoryImageName } from '../../cli/image-arg.js';
import { InputError } from '../../common/index.js';
import { parseMountinfo, topMountAt } from '../../src/mount/mountinfo.js';

const SAMPLE = [
  '22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:5 - proc proc rw',
  '40 22 0:35 / /tmp/with\\040space rw,relatime shared:9 master:2 - tmpfs tmp\\011fs rw,size=10k',
  '46 27 0:39 / /mnt/image rw,relatime - overlay composefs:abcd ro,lowerdir=/proc/self/fd/24::/proc/self/fd/20,redirect_dir=on,metacopy=on,verity=require',
  '50 46 0:41 / /mnt/image rw,relatime - tmpfs tmpfs rw',
  '',
].join('\n');

test('mountinfo: fields, optional fields of any number, octal escapes', () => {
  const entries = parseMountinfo(SAMPLE);
  assert.is(entries.length, 4);
  assert.equal(entries[1], {
    id: 40,
    parentId: 22,
    mountpoint: '/tmp/with space',
    options: 'rw,relatime',
    fsType: 'tmpfs',
    source: 'tmp\tfs',
    superOptions: 'rw,size=10k',
  });
  assert.is(entries[2]?.source, 'composefs:abcd');
  assert.match(entries[2]?.superOptions ?? '', 'verity=require');
  assert.throws(() => parseMountinfo('1 2 3\n', 'mi'), (e: unknown) => e instanceof InputError && /mi: line 1/.test(e.message));
});

test('the mount a lookup reaches is the one stacked on top', () => {
  const entries = parseMountinfo(SAMPLE);
  assert.is(topMountAt(entries, '/mnt/image')?.fsType, 'tmpfs');
  assert.is(topMountAt(entries.slice(0, 3), '/mnt/image')?.source, 'composefs:abcd');
  assert.is(topMountAt(entries, '/nowhere'), undefined);
});

test('IMAGE arguments: digests and refs/ name repository images, anything else is a file', () => {
  for (const name of ['a'.repeat(64), '0'.repeat(128), 'refs/x', 'refs/a/b']) assert.ok(isRepositoryImageName(name), name);
  for (const name of ['./refs/x', 'img', '/tmp/img', 'a'.repeat(63), 'A'.repeat(64), `sha512:${'a'.repeat(128)}`, 'ref/x']) {
    assert.not.ok(isRepositoryImageName(name), name);
  }
});

test.run();
