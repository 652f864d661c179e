/**
 * The VM harness's pure parts (test/vm/host/, test/vm/filefrag.ts): reading
 * the guest console, uvu totals, kernel module metadata, ldd, apt and
 * filefrag output. The harness itself runs in the vm suite.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseFilefrag, physicalByte } from '../vm/filefrag.js';
import { ConsoleScanner, judge, plain, uvuTotals, type ConsoleLine } from '../vm/host/console.js';
import { envFile, envKernelArg, guestPattern } from '../vm/host/guest-env.js';
import { aptOptions, sourcesLine } from '../vm/host/apt.js';
import { parseCandidate } from '../vm/host/kernel.js';
import { parseLdd } from '../vm/host/ldd.js';
import { loadOrder, modinfo, moduleName, readModule, resolveModules } from '../vm/host/modules.js';
import { rejects } from '../support/rejects.js';

const ESC = '\x1b';

test('console: only lines between the markers are test output; the end marker gives uvu status', () => {
  const scanner = new ConsoleScanner();
  const lines: ConsoleLine[] = [];
  // Chunks split anywhere, CRLF line ends, firmware escapes, a fake total before the marker.
  const text = `${ESC}c${ESC}[?7lSeaBIOS\r\n  Total:     99\r\nPassed: 99\r\n@@cfskit-vm:begin@@\r\n`
    + `${ESC}[1mverity.vmtest.js${ESC}[22m\r\n  Total:     3\r\n  Passed:    3\r\n  Skipped:   0\r\n`
    + `partial line\n@@cfskit-vm:end status=0@@\r\ncfskit-vm: tests done\r\n[ 7.4] reboot: Power down`;
  for (let i = 0; i < text.length; i += 7) lines.push(...scanner.push(text.slice(i, i + 7)));
  lines.push(...scanner.finish());
  assert.equal(lines.map((l) => l.kind), ['boot', 'boot', 'boot', 'begin', 'test', 'test', 'test', 'test', 'test', 'end', 'after', 'after']);
  assert.is(scanner.endStatus, 0);
  assert.equal(uvuTotals(scanner.testOutput), { total: 3, passed: 3, skipped: 0 });
  assert.is(scanner.testOutput[0], 'verity.vmtest.js');
});

test('console: a marker is only a marker on a line of its own, and the end only after the begin', () => {
  const scanner = new ConsoleScanner();
  const kinds = scanner.push('@@cfskit-vm:end status=0@@\nsay @@cfskit-vm:begin@@\n@@cfskit-vm:begin@@\nx @@cfskit-vm:end status=0@@\n').map((l) => l.kind);
  assert.equal(kinds, ['boot', 'boot', 'begin', 'test']);
  assert.is(scanner.endStatus, undefined);
  assert.ok(scanner.begun);
});

test('uvu totals: none, or two sets (two uvu runs, or a test printing a total), are not totals', () => {
  assert.is(uvuTotals(['nothing here']), undefined);
  assert.is(uvuTotals(['Total: 1', 'Passed: 1', 'Total: 2', 'Passed: 2']), undefined);
  assert.equal(uvuTotals([`  Total:     10${ESC}[31m`, `  Passed:    9${ESC}[39m`, '  Skipped:   1']), { total: 10, passed: 9, skipped: 1 });
  assert.is(plain(`${ESC}[90m• ${ESC}[39m\r`), '• ');
});

test('verdict: passes only with both markers, status 0 and a nonzero total that all passed', () => {
  const scan = (text: string): ConsoleScanner => {
    const scanner = new ConsoleScanner();
    scanner.push(text);
    scanner.finish();
    return scanner;
  };
  const ok = { code: 0, signal: null };
  const run = (tests: string, status: number): string => `boot\n@@cfskit-vm:begin@@\n${tests}\n@@cfskit-vm:end status=${status}@@\n`;
  const totals = (total: number, passed: number): string => `  Total:     ${total}\n  Passed:    ${passed}\n  Skipped:   0`;
  assert.is(judge(scan(run(totals(3, 3), 0)), ok, false, 1000), undefined);
  // Killed while powering off after a good end marker: still a pass.
  assert.is(judge(scan(run(totals(3, 3), 0)), { code: null, signal: 'SIGKILL' }, false, 1000), undefined);
  assert.is(judge(scan('boot\n@@cfskit-vm:begin@@\n•'), { code: null, signal: 'SIGKILL' }, true, 5000), 'timed out after 5 s');
  assert.match(judge(scan('Kernel panic\n'), ok, false, 1000) ?? '', /stopped before the tests began/);
  assert.match(judge(scan('@@cfskit-vm:begin@@\n•\n'), ok, false, 1000) ?? '', /stopped while the tests ran/);
  assert.is(judge(scan(run('crashed', 1)), ok, false, 1000), 'the guest printed no uvu totals');
  assert.is(judge(scan(run(totals(3, 2), 1)), ok, false, 1000), 'uvu exited with status 1 in the guest');
  assert.is(judge(scan(run(totals(0, 0), 0)), ok, false, 1000), 'the guest ran no tests');
  assert.is(judge(scan(run(totals(3, 2), 0)), ok, false, 1000), '1 guest tests failed');
});

test('guest pattern: all .vmtest.js files, or those whose path matches the filter', () => {
  const all = new RegExp(guestPattern(undefined), 'i');
  const tamper = new RegExp(guestPattern('tamper'), 'i');
  assert.ok(all.test('verity.vmtest.js'));
  assert.not.ok(all.test('support.js'));
  assert.not.ok(all.test('verity.vmtest.js.map'));
  assert.ok(tamper.test('tamper.vmtest.js'));
  assert.not.ok(tamper.test('verity.vmtest.js'));
});

test('env file: values are quoted for sh, names checked', () => {
  assert.is(envFile({ A: "it's", CFSKIT_VM_PATTERN: '\\.vmtest\\.js$' }), `export A='it'\\''s'\nexport CFSKIT_VM_PATTERN='\\.vmtest\\.js$'\n`);
  assert.throws(() => envFile({ 'A;rm': 'x' }), /not an environment variable name/);
  const arg = envKernelArg({ CFSKIT_TEST_SEED: '42', CFSKIT_VM_PATTERN: "^(?=.*(?:tamper)).*\\.vmtest\\.js$ it's" });
  // One word on the kernel command line, decoding to the env file.
  assert.match(arg, /^cfskit\.env=[A-Za-z0-9+/=]+$/);
  assert.is(Buffer.from(arg.slice('cfskit.env='.length), 'base64').toString(), envFile({ CFSKIT_TEST_SEED: '42', CFSKIT_VM_PATTERN: "^(?=.*(?:tamper)).*\\.vmtest\\.js$ it's" }));
  assert.throws(() => envKernelArg({ A: 'x'.repeat(2000) }), /too long/);
});

test('apt: the cloud kernel the metapackage depends on', () => {
  const show = 'Package: linux-image-cloud-amd64\nVersion: 6.1.192-2\nDepends: linux-image-6.1.0-56-cloud-amd64 (= 6.1.192-2)\n';
  assert.equal(parseCandidate(show), { name: 'linux-image-6.1.0-56-cloud-amd64', version: '6.1.192-2' });
  assert.is(parseCandidate('E: No packages found\n'), undefined);
});

test('apt: a private configuration for bookworm-backports, nothing of the system\'s', () => {
  assert.is(
    sourcesLine('http://deb.debian.org/debian'),
    'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm-backports main\n',
  );
  const options = aptOptions('/c/apt', true);
  const settings = new Map(options.filter((_, i) => i % 2 === 1).map((o) => o.split('=') as [string, string]));
  assert.ok(options.filter((_, i) => i % 2 === 0).every((o) => o === '-o'));
  assert.is(settings.get('Dir::Etc::SourceList'), '/c/apt/sources.list');
  assert.is(settings.get('Dir::Etc::SourceParts'), '/dev/null');
  assert.is(settings.get('Dir::State::Lists'), '/c/apt/lists');
  assert.is(settings.get('Dir::State::status'), '/c/apt/status');
  assert.is(settings.get('Dir::Cache'), '/c/apt/cache');
  assert.is(settings.get('APT::Sandbox::User'), 'root');
  assert.not.ok(aptOptions('/c/apt', false).some((o) => o.startsWith('APT::Sandbox')));
  const show = 'Package: linux-image-cloud-amd64\nVersion: 6.12.95-1~bpo12+1\nDepends: linux-image-6.12.95+deb12-cloud-amd64 (= 6.12.95-1~bpo12+1)\n';
  assert.equal(parseCandidate(show), { name: 'linux-image-6.12.95+deb12-cloud-amd64', version: '6.12.95-1~bpo12+1' });
});

test('ldd: library paths, the loader, no vDSO; a missing library is an error', () => {
  const out = [
    '\tlinux-vdso.so.1 (0x00007ffc5f3d2000)',
    '\tlibstdc++.so.6 => /lib/x86_64-linux-gnu/libstdc++.so.6 (0x00007f0d1c800000)',
    '\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f0d1c61e000)',
    '\t/lib64/ld-linux-x86-64.so.2 (0x00007f0d1cb9b000)',
  ].join('\n');
  assert.equal(parseLdd(out), ['/lib/x86_64-linux-gnu/libstdc++.so.6', '/lib/x86_64-linux-gnu/libc.so.6', '/lib64/ld-linux-x86-64.so.2']);
  assert.equal(parseLdd('\tnot a dynamic executable\n'), []);
  assert.throws(() => parseLdd('\tlibfoo.so.1 => not found\n'), /libfoo.so.1 not found/);
});

/** A minimal ELF64 LE relocatable with a .modinfo section (what a .ko is, as far as modinfo goes). */
function fakeModule(info: string[]): Uint8Array {
  const modinfoBytes = Buffer.from(`${info.join('\0')}\0`);
  const names = Buffer.from('\0.modinfo\0.shstrtab\0');
  const header = 64;
  const dataOff = header;
  const namesOff = dataOff + modinfoBytes.length;
  const shoff = namesOff + names.length;
  const buf = Buffer.alloc(shoff + 3 * 64);
  buf.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1], 0);
  buf.writeBigUInt64LE(BigInt(shoff), 0x28);
  buf.writeUInt16LE(64, 0x3a);
  buf.writeUInt16LE(3, 0x3c);
  buf.writeUInt16LE(2, 0x3e);
  modinfoBytes.copy(buf, dataOff);
  names.copy(buf, namesOff);
  const section = (i: number, name: number, offset: number, size: number): void => {
    const at = shoff + i * 64;
    buf.writeUInt32LE(name, at);
    buf.writeBigUInt64LE(BigInt(offset), at + 24);
    buf.writeBigUInt64LE(BigInt(size), at + 32);
  };
  section(1, 1, dataOff, modinfoBytes.length);
  section(2, 10, namesOff, names.length);
  return buf;
}

test('modules: .modinfo depends, names, load order with dependencies first, cycles refused', () => {
  const ko = fakeModule(['license=GPL', 'depends=virtio_ring,virtio_pci_modern_dev,virtio', 'name=virtio_pci']);
  assert.equal(modinfo(ko).get('depends'), ['virtio_ring,virtio_pci_modern_dev,virtio']);
  assert.is(moduleName('/x/arch/x86/crypto/sha512-ssse3.ko'), 'sha512_ssse3');
  assert.is(moduleName('kernel/drivers/char/hw_random/virtio-rng.ko.xz'), 'virtio_rng');
  const deps: Record<string, string[]> = {
    virtio_pci: ['virtio_ring', 'virtio_pci_modern_dev', 'virtio'],
    virtio: ['virtio_ring'],
    virtio_blk: ['virtio', 'virtio_ring'],
  };
  const order = loadOrder(['virtio_pci', 'virtio_blk', 'sha512_generic'], (m) => deps[m] ?? []);
  assert.equal(order, ['virtio_ring', 'virtio_pci_modern_dev', 'virtio', 'virtio_pci', 'virtio_blk', 'sha512_generic']);
  assert.throws(() => loadOrder(['a'], (m) => (m === 'a' ? ['b'] : ['a'])), /cycle: a → b → a/);
  assert.throws(() => modinfo(new Uint8Array(64)), /not an ELF64/);
});

test('filefrag: extents in bytes from the block size the header names; unmappable extents refused', () => {
  const out = [
    'Filesystem type is: ef53',
    'File size of /mnt/scratch/f is 20000 (5 blocks of 4096 bytes)',
    ' ext:     logical_offset:        physical_offset: length:   expected: flags:',
    '   0:        0..       1:      34816..     34817:      2:            ',
    '   1:        2..       3:      40000..     40001:      2:      34818: ',
    '   2:        4..       4:      50000..     50000:      1:      40002: last,unwritten,eof',
    '/mnt/scratch/f: 3 extents found',
  ].join('\n');
  const extents = parseFilefrag(out);
  assert.is(extents.length, 3);
  assert.equal(extents[1], { logicalByte: 8192, physicalByte: 40000 * 4096, bytes: 8192, flags: [] });
  assert.is(physicalByte(extents, 5), 34816 * 4096 + 5);
  assert.is(physicalByte(extents, 8192 + 4097), 40001 * 4096 + 1);
  assert.throws(() => physicalByte(extents, 4 * 4096), /flagged unwritten/);
  assert.throws(() => physicalByte(extents, 6 * 4096), /in no extent/);
  assert.throws(() => parseFilefrag('garbage'), /without a block size/);
});

test('modules: .ko.xz unpacked, built-in modules (and dependencies) left out, the rest in order', async () => {
  const tree = await mkdtemp(join(tmpdir(), 'cfskit-modules-'));
  try {
    await mkdir(join(tree, 'kernel/drivers/block'), { recursive: true });
    const blk = fakeModule(['depends=virtio_ring', 'name=virtio_blk']);
    await writeFile(join(tree, 'kernel/drivers/block/virtio_blk.ko'), blk);
    execFileSync('xz', ['--check=crc32', join(tree, 'kernel/drivers/block/virtio_blk.ko')]);
    await writeFile(join(tree, 'kernel/drivers/block/loop.ko'), fakeModule(['depends=', 'name=loop']));
    await writeFile(join(tree, 'modules.builtin'), 'kernel/drivers/virtio/virtio_ring.ko\nkernel/drivers/virtio/virtio_pci.ko\n');
    const order = await resolveModules(tree, ['virtio_pci', 'virtio_blk', 'loop']);
    assert.equal(order.map((m) => m.name), ['virtio_blk', 'loop']);
    assert.ok((await readModule(order[0]?.path ?? '')).equals(blk), 'unpacked to the same ELF');
    assert.match(String(await rejects(resolveModules(tree, ['erofs']))), /erofs is neither in .* nor built in/);
  } finally {
    await rm(tree, { recursive: true, force: true });
  }
});

test.run();
