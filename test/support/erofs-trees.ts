/**
 * The trees behind test/vectors/erofs: each is materialized on disk and
 * given to cfsctl (to make the vectors) and to cfskit (to check them).
 * Changing an entry here changes the vectors; regenerate them as
 * test/vectors/erofs/README.md says.
 */
import type { Entry, Name, TreeSpec } from './fstree.js';

const T0: [number, number] = [1700000000, 0];

/** A valid VFS_CAP_REVISION_2 security.capability value (cap_net_bind_service+ep). */
export const CAPABILITY = Buffer.from('0100000200040000000000000000000000000000', 'hex');
/** A valid POSIX ACL (user::rw-, user:1000:rw-, group::r--, mask::rw-, other::r--). */
export const ACL = Buffer.from('02000000' + '01000600ffffffff' + '02000600e8030000' + '04000400ffffffff' + '10000600ffffffff' + '20000400ffffffff', 'hex');

const usr: Entry = { path: 'usr', kind: 'dir', mode: 0o755, mtime: [1690000000, 0] };

const empty: TreeSpec = {
  name: 'empty',
  about: 'the root directory alone',
  entries: [{ path: '', kind: 'dir', mode: 0o755, mtime: T0 }],
};

const types: TreeSpec = {
  name: 'types',
  about: 'every file type, hard links to each but the 0/0 character device (a whiteout; composefs refuses to hard-link one)',
  entries: [
    { path: '', kind: 'dir', mtime: T0 },
    { path: 'dir', kind: 'dir' },
    { path: 'dir/sub', kind: 'dir', mode: 0o700 },
    { path: 'dir/sub/empty-dir', kind: 'dir' },
    { path: 'file-empty', kind: 'data', data: '' },
    { path: 'file-inline', kind: 'data', data: 'hello\n' },
    { path: 'file-external', kind: 'file', size: 5000, seed: 1 },
    { path: 'symlink', kind: 'symlink', target: 'file-inline' },
    { path: 'symlink-abs', kind: 'symlink', target: '/usr/bin/env' },
    { path: 'symlink-dash', kind: 'symlink', target: '-' },
    { path: 'symlink-dangling', kind: 'symlink', target: '../../nowhere/x y' },
    { path: 'symlink-long', kind: 'symlink', target: 'l/'.repeat(511) + 'ng' },
    { path: 'blockdev', kind: 'blockdev', major: 8, minor: 1 },
    { path: 'chardev', kind: 'chardev', major: 1, minor: 3 },
    { path: 'chardev-big', kind: 'chardev', major: 4095, minor: 1048575 },
    { path: 'whiteout', kind: 'chardev', major: 0, minor: 0 },
    { path: 'fifo', kind: 'fifo' },
    { path: 'socket', kind: 'socket', mode: 0o755 },
    { path: 'dir/hl-inline', kind: 'link', target: 'file-inline' },
    { path: 'dir/sub/hl-inline', kind: 'link', target: 'file-inline' },
    { path: 'hl-external', kind: 'link', target: 'file-external' },
    { path: 'dir/hl-empty', kind: 'link', target: 'file-empty' },
    { path: 'dir/hl-symlink', kind: 'link', target: 'symlink' },
    { path: 'dir/hl-fifo', kind: 'link', target: 'fifo' },
    { path: 'dir/hl-blockdev', kind: 'link', target: 'blockdev' },
    { path: 'dir/hl-socket', kind: 'link', target: 'socket' },
  ],
};

/** Regular files at the inline threshold (64 bytes) and block edges. */
const sizes: TreeSpec = {
  name: 'sizes',
  about: 'regular files around the 64-byte inline threshold, block edges, a sparse 64 MiB file',
  entries: [
    { path: '', kind: 'dir' },
    ...[0, 1, 2, 63, 64, 65, 66, 127, 128, 4095, 4096, 4097, 8191, 65536, (1 << 20) + 3].map(
      (size): Entry => ({ path: `f${String(size).padStart(8, '0')}`, kind: 'file', size, seed: size }),
    ),
    { path: 'same-a', kind: 'file', size: 100, seed: 7 },
    { path: 'same-b', kind: 'file', size: 100, seed: 7 },
    { path: 'sparse', kind: 'file', size: 64 << 20, sparse: true, dataAt: [0, 5 << 20, (64 << 20) - 100] },
  ],
};

function nameOf(len: number, tag: string): string {
  return (tag + 'x'.repeat(len)).slice(0, len);
}

/**
 * Directories whose entries ("." and ".." included, 12 bytes each plus the
 * name) total `bytes`: around the 2048-byte inline limit and 4096-byte blocks.
 */
function dirOfSize(path: string, bytes: number): Entry[] {
  const out: Entry[] = [{ path, kind: 'dir' }];
  let left = bytes - 27;
  let i = 0;
  while (left > 0) {
    let len = Math.min(200, left - 12);
    // Keep the last name from being too short to exist.
    if (left - 12 - len > 0 && left - 12 - len < 13) len -= 20;
    const name = nameOf(len, `e${String(i).padStart(3, '0')}-`);
    out.push({ path: `${path}/${name}`, kind: 'data', data: '' });
    left -= 12 + len;
    i++;
  }
  return out;
}

const many: TreeSpec = {
  name: 'many',
  about: 'a 1500-entry directory over several blocks, directories sized around the inline and block limits',
  entries: [
    { path: '', kind: 'dir' },
    { path: 'big', kind: 'dir' },
    ...Array.from({ length: 1500 }, (_, i): Entry => {
      const name = `entry-${String(i).padStart(4, '0')}${'-'.repeat(i % 37)}`;
      if (i % 10 === 0) return { path: `big/${name}`, kind: 'dir' };
      if (i % 10 === 1) return { path: `big/${name}`, kind: 'symlink', target: name };
      return { path: `big/${name}`, kind: 'data', data: `${i}` };
    }),
    ...[2047, 2048, 2049, 4095, 4096, 4097, 6143, 6144, 6145, 8192, 8193].flatMap((n) => dirOfSize(`d${n}`, n)),
  ],
};

const long255 = (c: string): string => c.repeat(255);

const names: TreeSpec = {
  name: 'names',
  about: '255-byte names, non-UTF-8 names, names that need escaping, names sorting around "." and ".."',
  entries: [
    { path: '', kind: 'dir' },
    { path: long255('a'), kind: 'data', data: 'a' },
    { path: long255('z'), kind: 'dir' },
    { path: `${long255('z')}/${long255('y')}`, kind: 'symlink', target: long255('t') },
    { path: Buffer.from([0xff, 0xfe]), kind: 'data', data: 'not utf-8' },
    { path: Buffer.from('caf\xe9', 'latin1'), kind: 'data', data: 'latin1' },
    { path: 'ünïcødé ☃', kind: 'data', data: 'utf-8' },
    { path: 'with space', kind: 'data', data: 'a b' },
    { path: 'with\nnewline', kind: 'data', data: 'x\ny' },
    { path: 'with\ttab', kind: 'data', data: '\t' },
    { path: 'back\\slash', kind: 'data', data: '\\' },
    { path: 'equals=sign', kind: 'data', data: '=' },
    { path: '-', kind: 'data', data: '-' },
    { path: '!', kind: 'dir' },
    { path: '#', kind: 'data', data: '' },
    { path: '+', kind: 'data', data: '' },
    { path: ',', kind: 'data', data: '' },
    { path: '.a', kind: 'data', data: '' },
    { path: '..a', kind: 'dir' },
    { path: '...', kind: 'data', data: '' },
    { path: '~', kind: 'data', data: '' },
    { path: 'A', kind: 'data', data: '' },
    { path: 'a', kind: 'data', data: '' },
    { path: Buffer.from([0x01]), kind: 'data', data: 'control' },
    { path: Buffer.from([0x7f]), kind: 'data', data: 'del' },
  ],
};

/** 14 levels of 255-byte names stay under PATH_MAX; then many short levels. */
const deep: TreeSpec = {
  name: 'deep',
  about: 'deep nesting: 14 levels of 255-byte names, then 100 short levels',
  entries: (() => {
    const out: Entry[] = [{ path: '', kind: 'dir' }];
    let p = '';
    for (let i = 0; i < 14; i++) {
      p += `${p ? '/' : ''}${String(i).padStart(2, '0')}${'d'.repeat(253)}`;
      out.push({ path: p, kind: 'dir', mtime: [1600000000 + i, 0] });
    }
    out.push({ path: `${p}/leaf`, kind: 'data', data: 'bottom' });
    let q = 'short';
    out.push({ path: q, kind: 'dir' });
    for (let i = 0; i < 100; i++) {
      q += `/${i}`;
      out.push({ path: q, kind: 'dir', mode: i % 2 ? 0o755 : 0o711 });
    }
    out.push({ path: `${q}/leaf`, kind: 'file', size: 65, seed: 3 });
    return out;
  })(),
};

const shared: [Name, Name][] = [['user.shared', 'same value everywhere']];

const xattrs: TreeSpec = {
  name: 'xattrs',
  about: 'user.*, security.capability, ACLs, trusted.overlay.* (escaped in the image), shared and unique xattrs',
  entries: [
    { path: '', kind: 'dir', xattrs: [['user.root', 'r'], ['trusted.overlay.opaque', 'y'], ...shared] },
    { path: 'dir', kind: 'dir', xattrs: [['trusted.overlay.opaque', 'y'], ['user.dir', ''], ...shared] },
    { path: 'inline', kind: 'data', data: 'abc', xattrs: [['user.a', '1'], ['user.b', '2'], ...shared] },
    { path: 'inline-2', kind: 'data', data: 'abc', xattrs: [['user.a', '1'], ['user.b', 'other'], ...shared] },
    {
      path: 'external',
      kind: 'file',
      size: 10000,
      xattrs: [['security.capability', CAPABILITY], ['trusted.overlay.metacopy', 'user-set'], ['trusted.overlay.redirect', '/elsewhere'], ...shared],
    },
    { path: 'external-2', kind: 'file', size: 10000, seed: 9, xattrs: [['security.capability', CAPABILITY]] },
    {
      path: 'escapes',
      kind: 'data',
      data: 'e',
      xattrs: [
        ['trusted.overlay.overlay.nested', 'twice'],
        ['trusted.overlay.x', 'plain'],
        ['trusted.overlayfs', 'no dot'],
        ['trusted.other', 'kept'],
        ['user.overlay.redirect', '/foo\n'],
        ['user.empty', ''],
        ['user.dash', '-'],
        ['user.eq', 'a=b'],
        ['user.name=with=equals', 'v'],
        ['user.binary', Buffer.from([0, 1, 2, 0xff, 0x20, 0x5c, 0x0a])],
        [Buffer.from('user.\xff\xfe', 'latin1'), 'non-utf8 name'],
        ['user.long', 'L'.repeat(2000)],
      ],
    },
    { path: 'acl', kind: 'data', data: '', xattrs: [['system.posix_acl_access', ACL]] },
    { path: 'acl-dir', kind: 'dir', xattrs: [['system.posix_acl_default', ACL], ['system.posix_acl_access', ACL]] },
    { path: 'symlink', kind: 'symlink', target: 'inline', xattrs: [['trusted.link', 'l'], ['security.sym', 's']] },
    { path: 'fifo', kind: 'fifo', xattrs: [['trusted.fifo', 'f']] },
    { path: 'chardev', kind: 'chardev', major: 5, minor: 1, xattrs: [['trusted.overlay.whiteout', ''], ['trusted.dev', 'd']] },
    { path: 'hardlink', kind: 'link', target: 'inline' },
    ...Array.from({ length: 20 }, (_, i): Entry => ({ path: `dir/f${i}`, kind: 'data', data: `${i}`, xattrs: [...shared, ['user.i', `${i % 3}`]] })),
  ],
};

const modes: TreeSpec = {
  name: 'modes',
  about: 'setuid/setgid/sticky, odd modes, uid/gid beyond 16 bits, mtimes before 1970, past 2038 and with nanoseconds',
  entries: [
    { path: '', kind: 'dir', mode: 0o1777, uid: 65536, gid: 65537, mtime: [4294967296 + 5, 0] },
    { path: 'setuid', kind: 'data', data: '#!', mode: 0o4755 },
    { path: 'setgid', kind: 'data', data: '#!', mode: 0o2755 },
    { path: 'all', kind: 'data', data: '', mode: 0o7777 },
    { path: 'none', kind: 'data', data: '', mode: 0 },
    { path: 'ro', kind: 'file', size: 70, mode: 0o400 },
    { path: 'uid-65535', kind: 'data', data: '', uid: 65535, gid: 65535 },
    { path: 'uid-big', kind: 'data', data: '', uid: 4294967294, gid: 100000 },
    { path: 'uid-1000', kind: 'symlink', target: 'x', uid: 1000, gid: 1000 },
    { path: 'dev-owned', kind: 'chardev', major: 1, minor: 5, uid: 70000, gid: 3, mode: 0o600 },
    { path: 'sticky-dir', kind: 'dir', mode: 0o1755 },
    { path: 'sgid-dir', kind: 'dir', mode: 0o2775, gid: 131072 },
    { path: 'epoch', kind: 'data', data: '', mtime: [0, 0] },
    { path: 'before-1970', kind: 'data', data: '', mtime: [-86400, 0] },
    { path: 'y2038', kind: 'data', data: '', mtime: [2147483648, 0] },
    { path: 'nsec', kind: 'data', data: '', mtime: [1700000000, 999999999] },
    { path: 'nsec-dir', kind: 'dir', mtime: [1700000001, 123456789] },
    { path: 'nsec-link', kind: 'symlink', target: 'nsec', mtime: [1700000002, 1] },
  ],
};

/** The entries of composefs-rs's special.dump, as far as a disk can hold them. */
const special: TreeSpec = {
  name: 'special',
  about: "composefs-rs's src/tests/assets/special.dump materialized (user.* moved to trusted.* where Linux forbids user.* xattrs)",
  entries: [
    { path: '', kind: 'dir', mode: 0o555, mtime: [1633950376, 0], xattrs: [['trusted.foo1', 'bar-1'], ['user.foo2', 'bar-2']] },
    { path: 'blockdev', kind: 'blockdev', major: 420, minor: 170, mode: 0o777, mtime: [1633950376, 0], xattrs: [['trusted.bar', 'bar-2']] },
    { path: 'chardev', kind: 'chardev', major: 42, minor: 17, mode: 0o777, mtime: [1633950376, 0], xattrs: [['trusted.foo', 'bar-2']] },
    {
      path: 'escaped-xattr',
      kind: 'data',
      data: '',
      mode: 0o777,
      mtime: [1633950376, 0],
      xattrs: [['trusted.overlay.redirect', '/foo\n'], ['user.foo', 'bar-2'], ['user.overlay.redirect', '/foo\n']],
    },
    { path: 'external', kind: 'file', size: 42 + 64, mode: 0o755, mtime: [1731497312, 0] },
    { path: 'fifo', kind: 'fifo', mode: 0o777, mtime: [1633950376, 0], xattrs: [['trusted.bar', 'bar-2']] },
    { path: 'inline', kind: 'data', data: 'FOOBAR\nINAFILE\n', mode: 0o777, mtime: [1633950376, 0], xattrs: [['user.foo', 'bar-2']] },
    { path: 'inline-large1', kind: 'data', data: 'A'.repeat(63), mode: 0o777, mtime: [1633950376, 0] },
    { path: 'inline-large2', kind: 'data', data: 'B'.repeat(64), mode: 0o777, mtime: [1633950376, 0] },
    { path: 'inline-large3', kind: 'data', data: 'C'.repeat(256), mode: 0o777, mtime: [1665486376, 0] },
    { path: 'whiteout', kind: 'chardev', major: 0, minor: 0, mode: 0o777, mtime: [1633950376, 0], xattrs: [['trusted.foo', 'bar-2']] },
  ],
};

/**
 * What V0/V1 images do with whiteouts (0/0 character devices): a user's
 * becomes a marked regular file and its directory is marked; the root gets
 * whiteout stubs 00…ff except where it has an entry of that name; a root
 * entry with such a name that is a whiteout is left out when the image is
 * read back (as composefs-rs reads it).
 */
const whiteouts: TreeSpec = {
  name: 'whiteouts',
  about: 'whiteouts in the root (hex-named and not) and below, with xattrs; root entries named like whiteout stubs',
  entries: [
    { path: '', kind: 'dir', mtime: [1700000000, 5] },
    { path: '00', kind: 'data', data: 'a file where a stub would be' },
    { path: '7f', kind: 'dir' },
    { path: 'ab', kind: 'chardev', major: 0, minor: 0 },
    { path: 'wh', kind: 'chardev', major: 0, minor: 0, xattrs: [['trusted.k', 'v']] },
    { path: 'dir', kind: 'dir', xattrs: [['user.d', '1']] },
    { path: 'dir/gone', kind: 'chardev', major: 0, minor: 0 },
    { path: 'dir/gone-too', kind: 'chardev', major: 0, minor: 0, mode: 0o600, uid: 7 },
    { path: 'dir/kept', kind: 'data', data: 'x' },
    { path: 'dir/dev', kind: 'chardev', major: 1, minor: 3 },
    { path: 'other', kind: 'dir' },
    { path: 'other/deep', kind: 'dir' },
    { path: 'other/deep/gone', kind: 'chardev', major: 0, minor: 0, mtime: [1600000000, 1] },
  ],
};

const BIG_XATTR = 'X'.repeat(3100);

/**
 * What decides the V0/V1 layout: compact inodes for entries with the
 * oldest mtime (nanoseconds included) and small ids, extended ones
 * otherwise; symlinks moved to a data block when inode, xattrs and target
 * would fill a block; shared xattrs in C mkcomposefs's order (by full name,
 * then value length); hard links met breadth first before their depth-first
 * name.
 */
const layout: TreeSpec = {
  name: 'layout',
  about: 'compact and extended inodes by mtime nanoseconds, symlinks moved to data blocks, shared xattr order, hard links across levels',
  entries: [
    { path: '', kind: 'dir', mtime: [1500000000, 7], xattrs: [['security.s', 'same'], ['trusted.t', 'same'], ['user.u', 'same']] },
    { path: 'oldest', kind: 'data', data: 'compact', mtime: [1500000000, 7] },
    { path: 'one-ns-later', kind: 'data', data: 'extended', mtime: [1500000000, 8] },
    { path: 'big-uid', kind: 'data', data: '', mtime: [1500000000, 7], uid: 70000 },
    { path: 'a', kind: 'dir', mtime: [1500000000, 7], xattrs: [['user.u', 'same'], ['security.s', 'same'], ['trusted.t', 'same']] },
    { path: 'a/b', kind: 'dir', mtime: [1600000000, 999999999] },
    { path: 'a/b/target', kind: 'data', data: 'linked', mtime: [1500000000, 7], xattrs: [['user.u', 'same'], ['user.v', 'vv'], ['user.w', 'w']] },
    { path: 'z', kind: 'dir', xattrs: [['user.v', 'vv'], ['user.w', 'ww'], ['trusted.t', 'same']] },
    { path: 'z/early', kind: 'link', target: 'a/b/target' },
    { path: 'long-link', kind: 'symlink', target: 'p/'.repeat(511) + 'xy', xattrs: [['trusted.big', BIG_XATTR]] },
    { path: 'long-link-old', kind: 'symlink', target: 'q/'.repeat(511) + 'xy', mtime: [1500000000, 7], xattrs: [['trusted.big', BIG_XATTR]] },
    { path: 'short-link', kind: 'symlink', target: 'r'.repeat(900), xattrs: [['trusted.big', BIG_XATTR]] },
    { path: 'acl', kind: 'data', data: '', xattrs: [['system.posix_acl_access', ACL]] },
    { path: 'ext', kind: 'file', size: 10000, seed: 4, mtime: [1500000000, 7] },
    { path: 'ext-big', kind: 'file', size: (5 << 20) + 1, sparse: true, dataAt: [0] },
  ],
};

/** cfsctl's default (container root): xattr allowlist, / from /usr, /run emptied. */
const container: TreeSpec = {
  name: 'container',
  about: 'a container root: / takes /usr metadata, /run is emptied, only security.capability (and user.* with keep-user-xattrs) survive; /boot and /sysroot for --bootable',
  container: true,
  bootable: true,
  entries: [
    { path: '', kind: 'dir', mode: 0o700, uid: 5, gid: 6, mtime: [1, 0], xattrs: [['user.root', 'dropped']] },
    { ...usr, uid: 1, gid: 2, mode: 0o555, mtime: [1690000000, 123456789], xattrs: [['security.capability', CAPABILITY], ['user.usr', 'kept with keep-user-xattrs']] },
    { path: 'boot', kind: 'dir', mtime: [1690000001, 2] },
    { path: 'boot/vmlinuz', kind: 'data', data: 'not a kernel' },
    { path: 'sysroot', kind: 'dir', mtime: [1690000002, 3] },
    { path: 'sysroot/ostree', kind: 'dir' },
    { path: 'usr/bin', kind: 'dir' },
    { path: 'usr/bin/ping', kind: 'file', size: 300, mode: 0o4755, xattrs: [['security.capability', CAPABILITY], ['trusted.x', 'dropped']] },
    { path: 'etc', kind: 'dir' },
    { path: 'etc/shared', kind: 'data', data: 'shared with /run' },
    { path: 'etc/hostname', kind: 'data', data: 'box\n', xattrs: [['user.x', 'dropped']] },
    { path: 'run', kind: 'dir', mode: 0o755, mtime: [1234, 0] },
    { path: 'run/lock', kind: 'dir' },
    { path: 'run/lock/file', kind: 'data', data: 'gone' },
    { path: 'run/shared', kind: 'link', target: 'etc/shared' },
    { path: 'run/fifo', kind: 'fifo' },
  ],
};

/** The same with an empty /usr and no /run. */
const containerMinimal: TreeSpec = {
  name: 'container-minimal',
  about: 'a container root with only an empty /usr',
  container: true,
  entries: [{ path: '', kind: 'dir' }, usr],
};

/**
 * A size past 4 GiB (the 64-bit size field). Hashing 4 GiB takes a while,
 * so tests check this one through its dumpfile, not from disk.
 */
export const large: TreeSpec = {
  name: 'large',
  about: 'a sparse file of 4 GiB + 4097 bytes (only checked through its dumpfile: hashing it takes long)',
  entries: [
    { path: '', kind: 'dir' },
    { path: 'big', kind: 'file', size: 2 ** 32 + 4097, sparse: true, dataAt: [2 ** 32] },
    { path: 'small', kind: 'data', data: 'small' },
  ],
};

/** Every tree the tests materialize on disk. */
export const TREES: readonly TreeSpec[] = [empty, types, sizes, many, names, deep, xattrs, modes, special, whiteouts, layout, container, containerMinimal];

/** Every tree with vectors, including ones only checked through dumpfiles. */
export const ALL_TREES: readonly TreeSpec[] = [...TREES, large];
