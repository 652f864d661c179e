/**
 * The layer tars of the deterministic OCI fixture images (see
 * oci-image-fixtures.ts), byte for byte the same on every run and every host:
 *
 * - single: one layer with every member type, inline/external boundaries,
 *   xattrs (security.capability, user.*, a build host's security.selinux),
 *   setuid/sticky modes, a fractional PAX mtime, /run content, /boot and
 *   /sysroot (so the bootable variant exists; no SELinux policy);
 * - layers: four layers applied over each other: whiteouts of files and
 *   directories, opaque directories, a file over a directory and a
 *   directory over a file, a directory's metadata changed by a later
 *   layer, a hard link whose other name is replaced, "./" prefixes, PAX
 *   paths, type bits in a mode, big uids, a whiteout then a new file of
 *   the same name in one layer;
 * - names: names that need escaping in dumpfiles (spaces, newlines,
 *   backslashes, "=", a lone "-") and names that are not UTF-8, which
 *   composefs-rs's containers-storage reader cannot import (its goldens
 *   come another way, see make-oci-vectors.ts);
 * - selinux: one layer with an SELinux policy in /etc/selinux (config and
 *   file_contexts as objects, .local, .subs), labels to replace, aliases.
 */
import { pattern } from './pattern.js';
import { dir, file, hardlink, opaque, symlink, tarBytes, whiteout, type TarMember } from './tar-writer.js';

const HOST_LABEL: [string, string] = ['SCHILY.xattr.security.selinux', 'system_u:object_r:container_file_t:s0\0'];
/** security.capability v2, cap_net_bind_service. */
const CAPABILITY = Buffer.from([1, 0, 0, 2, 0, 4, 0, 0, ...new Array<number>(12).fill(0)]);
export const NON_UTF8_NAME = Buffer.from([0x6c, 0x61, 0x74, 0x69, 0x6e, 0x2d, 0xe9, 0xff]);

function singleLayer(): TarMember[] {
  return [
    dir('./'),
    dir('usr/', { mtime: 1_700_000_100 }),
    dir('usr/bin/'),
    file('usr/bin/tool', pattern(5000, 1), { mode: 0o755, pax: [['SCHILY.xattr.security.capability', CAPABILITY], ['SCHILY.xattr.user.note', 'a=b c']] }),
    hardlink('usr/bin/hard', 'usr/bin/tool'),
    symlink('usr/bin/sh', 'tool'),
    dir('usr/lib/'),
    file('usr/lib/empty', ''),
    file('usr/lib/sixty-four', pattern(64, 2)),
    file('usr/lib/sixty-five', pattern(65, 3)),
    file('usr/lib/setuid', '#!/bin/sh\n', { mode: 0o4755 }),
    file('usr/lib/late', 'pax mtime\n', { pax: [['mtime', '1700000200.987654321']] }),
    dir('etc/'),
    file('etc/hostname', 'fixture\n', { pax: [HOST_LABEL] }),
    dir('dev/'),
    { name: 'dev/null', type: '3', mode: 0o666, devmajor: 1, devminor: 3 },
    { name: 'dev/loop0', type: '4', mode: 0o660, gid: 6, devmajor: 7, devminor: 0 },
    { name: 'dev/fifo', type: '6', mode: 0o600 },
    dir('run/', { mtime: 1_600_000_000 }),
    file('run/stale.pid', '42\n'),
    dir('boot/'),
    file('boot/vmlinuz', pattern(100, 4)),
    dir('sysroot/'),
    file('sysroot/ostree', 'x'),
    dir('tmp/', { mode: 0o1777 }),
    dir('var/'),
    dir('var/lib/', { uid: 1000, gid: 1000 }),
  ];
}

const LONG_DIR = `usr/share/${'d'.repeat(120)}`;

function layeredLayers(): TarMember[][] {
  const base = [
    dir('./'),
    dir('usr/'),
    dir('usr/bin/'),
    file('usr/bin/tool', pattern(3000, 10), { mode: 0o755 }),
    hardlink('usr/bin/tool-link', 'usr/bin/tool'),
    dir('usr/lib/'),
    file('usr/lib/libx.so', pattern(70, 11)),
    dir('etc/'),
    file('etc/removed', 'gone\n'),
    file('etc/keep', 'keep\n'),
    dir('etc/app/'),
    file('etc/app/a', 'a\n'),
    dir('etc/app/sub/'),
    file('etc/app/sub/b', 'b\n'),
    dir('var/'),
    dir('var/cache/'),
    file('var/cache/big', pattern(100, 12)),
    dir('opt/'),
    file('opt/old', 'a file\n'),
    dir('opt/dirfile/'),
    file('opt/dirfile/inner', 'i\n'),
    dir('run/'),
    file('run/x', 'x\n'),
  ];
  const changes = [
    whiteout('etc', 'removed'),
    whiteout('var', 'cache'),
    opaque('etc/app'),
    file('etc/app/new', 'new\n'),
    dir('opt/old/'),
    file('opt/old/child', 'c\n'),
    file('opt/dirfile', 'now a file\n'),
    dir('usr/', { mode: 0o750, mtime: 1_700_000_500 }),
    file('usr/bin/tool', pattern(2000, 13), { mode: 0o755 }),
    symlink('./usr/lib/libx.so.1', 'libx.so'),
  ];
  const names = [
    dir('./usr/share/'),
    dir(`${LONG_DIR}/`),
    file(`${LONG_DIR}/${'f'.repeat(150)}`, 'a PAX path\n'),
    file('usr/share/mode-with-type', 'old docker\n', { mode: 0o100640 }),
    dir('usr/share/typed-dir/', { mode: 0o40711 }),
    file('usr/share/owned', pattern(80, 14), { uid: 100000, gid: 65534 }),
    dir('usr/share/deep/'),
    dir('usr/share/deep/a/'),
    dir('usr/share/deep/a/b/'),
    file('usr/share/deep/a/b/leaf', 'deep\n'),
  ];
  const order = [
    whiteout('etc', 'keep'),
    file('etc/keep', 'again\n'),
    whiteout('usr/bin', 'tool'),
    opaque('etc/app'),
    file('etc/app/after', 'after\n'),
    // (Layers cannot hard-link to lower layers: containers-storage applies
    // each layer alone.)
    file('usr/share/fresh', pattern(90, 15)),
    hardlink('usr/share/fresh-link', 'usr/share/fresh'),
  ];
  return [base, changes, names, order];
}

function namesLayer(): TarMember[] {
  const raw = (...parts: (string | Buffer)[]): Buffer => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));
  return [
    dir('usr/'),
    dir('usr/share/'),
    file('usr/share/with space', 's\n'),
    file('usr/share/new\nline', 'n\n'),
    file('usr/share/back\\slash=equals', 'b\n'),
    file('usr/share/-', 'dash\n'),
    file('usr/share/tab\there', pattern(66, 30)),
    symlink('usr/share/link to space', 'with space'),
    file(raw('usr/share/', NON_UTF8_NAME), 'not UTF-8\n'),
    dir(raw('usr/share/', NON_UTF8_NAME, '-dir/')),
    file(raw('usr/share/', NON_UTF8_NAME, '-dir/', NON_UTF8_NAME), pattern(70, 31)),
    hardlink(raw('usr/share/', NON_UTF8_NAME, '-link'), raw('usr/share/', NON_UTF8_NAME)),
    file('usr/share/x', 'xattr escapes\n', { pax: [['SCHILY.xattr.user.k', 'v=a b\n\\-'], ['SCHILY.xattr.user.empty', '']] }),
  ];
}

const SELINUX_CONFIG = `# This file controls the state of SELinux on the system.
# SELINUX= can take one of these three values:
#     enforcing - SELinux security policy is enforced.
#     permissive - SELinux prints warnings instead of enforcing.
#     disabled - No SELinux policy is loaded.
SELINUX=enforcing
# SELINUXTYPE= can take one of these three values:
#     targeted - Targeted processes are protected,
#     mls - Multi Level Security protection.
SELINUXTYPE=targeted
`;

/** A small policy in the style of Fedora's, with the constructs real ones use. */
export const FILE_CONTEXTS = `# Generated for cfskit tests
/.*\t\t\tsystem_u:object_r:default_t:s0
/[^/]+\t\t--\tsystem_u:object_r:etc_runtime_t:s0
/a?quota\\.(user|group)\t--\tsystem_u:object_r:quota_db_t:s0
/bin\t\t\tsystem_u:object_r:bin_t:s0
/boot(/.*)?\t\tsystem_u:object_r:boot_t:s0
/dev(/.*)?\t\tsystem_u:object_r:device_t:s0
/dev/null\t\t-c\tsystem_u:object_r:null_device_t:s0
/etc(/.*)?\t\tsystem_u:object_r:etc_t:s0
/etc/passwd[-\\+]?\t--\tsystem_u:object_r:passwd_file_t:s0
/etc/shadow.*\t\t--\tsystem_u:object_r:shadow_t:s0
/etc/selinux(/.*)?\tsystem_u:object_r:selinux_config_t:s0
/home\t\t\t-d\tsystem_u:object_r:home_root_t:s0
/home/[^/]+\t\t-d\tunconfined_u:object_r:user_home_dir_t:s0
/home/[^/]+/.+\t\tunconfined_u:object_r:user_home_t:s0
/opt(/.*)?\t\tsystem_u:object_r:usr_t:s0
/run(/.*)?\t\tsystem_u:object_r:var_run_t:s0
/sysroot(/.*)?\t\tsystem_u:object_r:root_t:s0
/tmp(/.*)?\t\t<<none>>
/tmp\t\t\t-d\tsystem_u:object_r:tmp_t:s0
/usr(/.*)?\t\tsystem_u:object_r:usr_t:s0
/usr/bin(/.*)?\t\tsystem_u:object_r:bin_t:s0
/usr/bin/sh\t\t-l\tsystem_u:object_r:shell_exec_t:s0
/usr/lib(/.*)?\t\tsystem_u:object_r:lib_t:s0
/usr/lib/lib[^/]*\\.so(\\.[^/]*)*\t--\tsystem_u:object_r:textrel_shlib_t:s0
/usr/libexec(/.*)?\tsystem_u:object_r:bin_t:s0
/var(/.*)?\t\tsystem_u:object_r:var_t:s0
/var/run\t\t-l\tsystem_u:object_r:var_run_t:s0
/\t\t\t-d\tsystem_u:object_r:root_t:s0
`;

function selinuxLayer(): TarMember[] {
  const files = 'etc/selinux/targeted/contexts/files';
  return [
    dir('usr/'),
    dir('usr/bin/'),
    file('usr/bin/app', pattern(100, 20), { mode: 0o755, pax: [HOST_LABEL] }),
    symlink('usr/bin/sh', 'app'),
    dir('usr/lib64/'),
    file('usr/lib64/libfoo.so.1', pattern(80, 21)),
    dir('usr/libexec/'),
    file('usr/libexec/helper', '#!/bin/sh\n', { mode: 0o755 }),
    dir('etc/'),
    file('etc/passwd', 'root:x:0:0::/root:/bin/sh\n'),
    file('etc/shadow', 'root:!::0:99999:7:::\n', { mode: 0 }),
    dir('etc/selinux/'),
    file('etc/selinux/config', SELINUX_CONFIG),
    dir('etc/selinux/targeted/'),
    dir('etc/selinux/targeted/contexts/'),
    dir(`${files}/`),
    file(`${files}/file_contexts`, FILE_CONTEXTS),
    file(`${files}/file_contexts.local`, '/opt/custom(/.*)?\tsystem_u:object_r:custom_t:s0\n'),
    file(`${files}/file_contexts.subs`, '/var/home /home\n/usr/lib64 /usr/lib\n'),
    dir('boot/'),
    file('boot/vmlinuz', pattern(200, 22)),
    dir('sysroot/'),
    dir('home/'),
    dir('var/'),
    dir('var/home/'),
    dir('var/home/alice/'),
    file('var/home/alice/.bashrc', 'export PS1=x\n', { pax: [HOST_LABEL] }),
    symlink('var/run', '../run'),
    dir('run/'),
    dir('opt/'),
    dir('opt/custom/'),
    file('opt/custom/tool', 'custom\n'),
    dir('dev/'),
    { name: 'dev/null', type: '3', mode: 0o666, devmajor: 1, devminor: 3 },
    dir('tmp/', { mode: 0o1777 }),
    file('tmp/leftover', 'x\n', { pax: [HOST_LABEL] }),
    file('aquota.user', 'q'),
  ];
}

type LayeredFixture = 'single' | 'layers' | 'names' | 'selinux';

/** The members of each deterministic fixture's layer tars, base layer first. */
export const OCI_LAYER_MEMBERS: Readonly<Record<LayeredFixture, () => TarMember[][]>> = {
  single: () => [singleLayer()],
  layers: layeredLayers,
  names: () => [namesLayer()],
  selinux: () => [selinuxLayer()],
};

/** The layer tars of each deterministic fixture, base layer first. */
export const OCI_LAYERS: Readonly<Record<LayeredFixture, () => Buffer[]>> = {
  single: () => [tarBytes(singleLayer())],
  layers: () => layeredLayers().map(tarBytes),
  names: () => [tarBytes(namesLayer())],
  selinux: () => [tarBytes(selinuxLayer())],
};
