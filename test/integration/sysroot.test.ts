/**
 * A whole system, with real components: a sysroot whose containers-storage
 * podman and skopeo made, three live deployments (booted, staged,
 * rollback) and an old image no deployment uses any more, two of the live
 * ones binding app images that are in the store.
 * - `sysroot status` tells each deployment's role, that both stores hold
 *   its image, and its bound images (read from its composefs image);
 * - `sysroot gc --dry-run` reports exactly the old image, from both
 *   stores, and changes nothing; `sysroot gc` then removes exactly that,
 *   through podman, and podman still lists the live and the bound images;
 *   fsck is clean and a second run removes nothing;
 * - `sysroot podman-config`: real podman, given the store as an
 *   additional image store, finds the booted image and creates a
 *   container from it.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'smol-toml';
import { cfskit } from '../support/cli.js';
import { createPodmanStore, havePodman } from '../support/podman.js';
import { gated, haveTool } from '../support/prereq.js';
import { boundLink, storeNames, withSysroot, type OsImage, type Sysroot } from '../support/sysroot-fixture.js';
import { withTempDir } from '../support/tmp.js';
import type { SysrootGcResult, SysrootStatus } from '../../src/sysroot/index.js';

const it = gated(test, havePodman(), haveTool('skopeo'));

async function repoFiles(root: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(join(root, rel), { withFileTypes: true })) {
    const child = rel ? `${rel}/${e.name}` : e.name;
    if (child === 'bootc') continue;
    out.push(child);
    if (e.isDirectory()) out.push(...(await repoFiles(root, child)));
  }
  return out.sort();
}

async function build(sysroot: Sysroot): Promise<void> {
  await sysroot.addApp('localhost/app-a:1');
  await sysroot.addApp('localhost/app-b:1');
  const bound = [boundLink('app-a.image', 'localhost/app-a:1'), boundLink('app-b.container', 'localhost/app-b:1', true)];
  const booted = await sysroot.addOs('localhost/os-booted:1', bound);
  const staged = await sysroot.addOs('localhost/os-staged:1', bound.slice(0, 1));
  const rollback = await sysroot.addOs('localhost/os-rollback:1', []);
  await sysroot.addOs('localhost/os-old:1', [boundLink('app-c.image', 'localhost/app-c:1')]);
  for (const d of [booted, staged, rollback]) await sysroot.deploy(d);
  await sysroot.setBootState({ booted, staged, entries: [booted, rollback] });
}

const common = (s: Sysroot): string[] => ['--sysroot', s.root, '--kernel-cmdline', s.kernelCmdline, '--staged-file', s.stagedFile];
const gcArgs = (s: Sysroot): string[] => [...common(s), '--runroot', s.store.runroot, '--json'];

it('status, then a dry run and a run of sysroot gc: exactly the old image goes, from both stores', () =>
  withSysroot(async (sysroot) => {
    await build(sysroot);
    const image = (n: string): OsImage => {
      const found = sysroot.images.get(n);
      if (!found) throw new Error(`no fixture image ${n}`);
      return found;
    };
    const [booted, staged, rollback, old] = ['localhost/os-booted:1', 'localhost/os-staged:1', 'localhost/os-rollback:1', 'localhost/os-old:1'].map(image) as [OsImage, OsImage, OsImage, OsImage];

    const st = await cfskit(['sysroot', 'status', ...common(sysroot), '--json']);
    assert.is(st.status, 0, st.stderr);
    const status = JSON.parse(st.stdout) as SysrootStatus;
    const byId = new Map(status.deployments.map((d) => [d.id, d]));
    assert.equal([...byId.keys()].sort(), [booted.bootId, staged.bootId, rollback.bootId].sort());
    const roles = (id: string) => {
      const d = byId.get(id);
      return [d?.booted, d?.staged, d?.rollback];
    };
    assert.equal(roles(booted.bootId), [true, false, false]);
    assert.equal(roles(staged.bootId), [false, true, false]);
    assert.equal(roles(rollback.bootId), [false, false, true]);
    for (const d of status.deployments) {
      assert.ok(d.repository.whole, `${d.id}: whole in the repository`);
      assert.is(d.inContainersStorage, true);
      assert.equal(d.problems, []);
    }
    const bound = (id: string) => byId.get(id)?.boundImages?.map((b) => [b.entry, b.kind, b.image, b.inContainersStorage]);
    assert.equal(bound(booted.bootId), [
      ['app-a.image', 'image', 'localhost/app-a:1', true],
      ['app-b.container', 'container', 'localhost/app-b:1', true],
    ]);
    assert.equal(bound(staged.bootId), [['app-a.image', 'image', 'localhost/app-a:1', true]]);
    assert.equal(bound(rollback.bootId), []);
    const text = await cfskit(['sysroot', 'status', ...common(sysroot)]);
    assert.match(text.stdout, new RegExp(`deployment ${booted.bootId}\\n  role:               booted\\n`));
    assert.match(text.stdout, /app-b\.container → localhost\/app-b:1 \(present\)/);

    const namesBefore = await storeNames(sysroot.store);
    const filesBefore = await repoFiles(sysroot.layout.repository);
    const dryRun = await cfskit(['sysroot', 'gc', ...gcArgs(sysroot), '--dry-run']);
    assert.is(dryRun.status, 0, dryRun.stderr);
    const dry = JSON.parse(dryRun.stdout) as SysrootGcResult;
    assert.equal(await storeNames(sysroot.store), namesBefore, 'the dry run left the store');
    assert.equal(await repoFiles(sysroot.layout.repository), filesBefore, 'the dry run left the repository');
    assert.equal(dry.tagsRemoved, [`localhost/bootc-${old.manifestDigest}`]);
    assert.equal(dry.tagsAdded, []);
    assert.equal(dry.containersStorage.removed.map((i) => i.id), [old.storeId]);
    assert.ok(dry.repository.objectsRemoved > 0);
    assert.equal(dry.problems, []);

    const real = await cfskit(['sysroot', 'gc', ...gcArgs(sysroot)]);
    assert.is(real.status, 0, real.stderr);
    const done = JSON.parse(real.stdout) as SysrootGcResult;
    assert.equal(
      [done.tagsRemoved, done.containersStorage.removed, done.repository.objectsRemoved, done.repository.objectsBytes, done.repository.streamsPruned, done.repository.imagesPruned],
      [dry.tagsRemoved, dry.containersStorage.removed, dry.repository.objectsRemoved, dry.repository.objectsBytes, dry.repository.streamsPruned, dry.repository.imagesPruned],
      'the run did what the dry run said',
    );
    assert.equal(await storeNames(sysroot.store), namesBefore.filter((n) => n !== 'localhost/os-old:1'));
    assert.equal(await storeNames(sysroot.store), ['localhost/app-a:1', 'localhost/app-b:1', 'localhost/os-booted:1', 'localhost/os-rollback:1', 'localhost/os-staged:1']);
    const images = await readdir(join(sysroot.layout.repository, 'images'));
    assert.not.ok(images.includes(old.bootId), 'the old composefs image went');
    for (const d of [booted, staged, rollback]) assert.ok(images.includes(d.bootId), `${d.name} composefs image stays`);

    const after = JSON.parse((await cfskit(['sysroot', 'status', ...common(sysroot), '--json'])).stdout) as SysrootStatus;
    for (const d of after.deployments) assert.ok(d.repository.whole && d.inContainersStorage === true, `${d.id} still whole in both stores`);
    const fsck = await cfskit(['--repo', sysroot.layout.repository, 'fsck']);
    assert.is(fsck.status, 0, fsck.stdout);
    const again = JSON.parse((await cfskit(['sysroot', 'gc', ...gcArgs(sysroot)])).stdout) as SysrootGcResult;
    assert.equal([again.repository.objectsRemoved, again.containersStorage.removed.length, again.tagsRemoved.length], [0, 0, 0], 'a second run removes nothing');
    const textRun = await cfskit(['sysroot', 'gc', ...common(sysroot), '--runroot', sysroot.store.runroot]);
    assert.is(textRun.status, 0, textRun.stderr);
    assert.match(textRun.stdout, /^Objects: 0 removed \(0 bytes\)\ncontainers-storage: removed 0 image\(s\), kept 5\n$/);
  }));

it('podman-config: podman given the store as an additional image store finds the booted image and creates a container', () =>
  withSysroot(async (sysroot) => {
    const os = await sysroot.addOs('localhost/os-booted:1', []);
    const printed = await cfskit(['sysroot', 'podman-config', '--print', '--store', sysroot.layout.storage]);
    assert.is(printed.status, 0, printed.stderr);
    const opt = `additionalimagestore=${sysroot.layout.storage}`;
    assert.ok(printed.stdout.includes(`podman --storage-opt ${opt} run IMAGE`));
    assert.match(printed.stdout, /bootc advises against/);
    assert.match(printed.stdout, /reads no storage\.conf\.d drop-ins/, 'podman 4 is told to use the per-command option');
    await withTempDir('podman-config', async (dir) => {
      const written = await cfskit(['sysroot', 'podman-config', '--write', '--dropin-dir', join(dir, 'storage.conf.d'), '--store', sysroot.layout.storage]);
      assert.is(written.status, 0, written.stderr);
      const path = join(dir, 'storage.conf.d', '50-bootc-storage.conf');
      assert.is((await stat(path)).mode & 0o777, 0o644);
      assert.equal(JSON.parse(JSON.stringify(parse(await readFile(path, 'utf8')))), { storage: { options: { additionalimagestores: [sysroot.layout.storage, { append: true }] } } });
      assert.equal((await readdir(join(dir, 'storage.conf.d'))).sort(), ['50-bootc-storage.conf'], 'no temporary file left');
    });
    // Another podman store of its own, seeing the system store read-only.
    const user = await createPodmanStore();
    try {
      await user.podman(['image', 'exists', os.name], ['--storage-opt', opt]);
      const created = (await user.podman(['create', '--name', 'from-system-store', os.name, '/usr/bin/sh'], ['--storage-opt', opt])).trim();
      assert.match(created, /^[0-9a-f]{64}$/);
      const inspected = JSON.parse(await user.podman(['container', 'inspect', created], ['--storage-opt', opt])) as { ImageName?: string }[];
      assert.is(inspected[0]?.ImageName, os.name);
      await user.podman(['rm', created], ['--storage-opt', opt]);
      let missing = false;
      await user.podman(['image', 'exists', os.name]).catch(() => {
        missing = true;
      });
      assert.ok(missing, 'without the option the image is not there');
    } finally {
      await user.destroy();
    }
  }));

test.run();
