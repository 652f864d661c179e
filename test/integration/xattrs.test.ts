/**
 * Directory scans read extended attributes through the addon (llistxattr/
 * lgetxattr): the same names and bytes getfattr sees, a symlink's own and
 * not its target's; without the addon none, said once.
 */
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readXattrs } from '../../host-bindings/index.js';
import { cfskit, check } from '../support/cli.js';
import { readTreeXattrs } from '../support/getfattr.js';
import { gated, haveRoot, haveTool } from '../support/prereq.js';
import { withTempDir } from '../support/tmp.js';

const it = gated(test, haveRoot(), haveTool('setfattr'), haveTool('getfattr'));

async function setfattr(path: string, name: string, hex: string): Promise<void> {
  await check('setfattr', ['-h', '-n', name, '-v', `0x${hex}`, path]);
}

/** A tree whose xattrs have every byte value, a long value, odd names, on files, a directory and a symlink. */
async function makeTree(root: string): Promise<void> {
  await mkdir(join(root, 'sub'), { recursive: true });
  await writeFile(join(root, 'sub/file'), 'content that is not inline because it is over sixty-four bytes long');
  await writeFile(join(root, 'plain'), 'no xattrs');
  await symlink('sub/file', join(root, 'link'));
  await setfattr(join(root, 'sub/file'), 'user.all-bytes', Buffer.from(Array.from({ length: 256 }, (_, i) => i)).toString('hex'));
  await setfattr(join(root, 'sub/file'), 'user.long', 'ab'.repeat(3000));
  await setfattr(join(root, 'sub/file'), 'user.with\nnewline=and equals', '00');
  await setfattr(join(root, 'sub'), 'user.dir', '6469');
  await setfattr(join(root, 'link'), 'trusted.on-the-link', 'ff00');
}

const byName = (list: { name: Buffer; value: Buffer }[]): string[] =>
  list.map((x) => `${x.name.toString('hex')}=${x.value.toString('hex')}`).sort();

it('the addon reads what getfattr reads: names and values byte for byte, a symlink its own', async () => {
  await withTempDir('xattrs', async (root) => {
    await makeTree(root);
    const reference = await readTreeXattrs(Buffer.from(root));
    for (const rel of ['', 'sub', 'sub/file', 'plain', 'link']) {
      const path = Buffer.from(rel ? `${root}/${rel}` : root);
      assert.equal(byName(readXattrs(path)), byName(reference.get(rel) ?? []), rel || '/');
    }
    assert.is(readXattrs(Buffer.from(`${root}/sub/file`)).length, 3);
    assert.is(readXattrs(Buffer.from(`${root}/link`)).length, 1, "the link's own, not its target's three");
  });
});

it('create-dumpfile: xattrs through the addon; without it none, and one line saying so', async () => {
  await withTempDir('xattrs-dump', async (root) => {
    await makeTree(root);
    const withAddon = await cfskit(['create-dumpfile', '--no-propagate-usr-to-root', root]);
    assert.is(withAddon.status, 0, withAddon.stderr);
    assert.match(withAddon.stdout, /^\/sub\/file .* user\.all-bytes=\\x00\\x01/m);
    assert.match(withAddon.stdout, /^\/link .* trusted\.on-the-link=\\xff\\x00$/m);
    assert.is(withAddon.stderr, '');
    const without = await cfskit(['create-dumpfile', '--no-propagate-usr-to-root', root], { env: { ...process.env, CFSKIT_DISABLE_ADDON: '1' } });
    assert.is(without.status, 0, without.stderr);
    assert.not.match(without.stdout, /user\.|trusted\./);
    assert.is(without.stdout.split('\n').length, withAddon.stdout.split('\n').length, 'the same entries');
    const lines = without.stderr.split('\n').filter(Boolean);
    assert.is(lines.length, 1, without.stderr);
    assert.match(lines[0] ?? '', /^cfskit: extended attributes are not read without the system-call addon \(disabled by CFSKIT_DISABLE_ADDON=1\)/);
  });
});

test.run();
