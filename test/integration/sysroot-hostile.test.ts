/**
 * sysroot gc on damaged systems, each case on the same real sysroot (store
 * made by podman) and undone afterwards: a malformed or missing origin, an
 * origin naming an image no store has, bound-images.d entries that are not
 * symlinks or lead out of the image, a dangling ref, a store podman cannot
 * open, a store another process holds locked, no podman at all. Each gives
 * a clear report or error, and nothing a deployment may need is removed:
 * a floating image in the store that backs nothing stays until the last,
 * undamaged run, which proves it would otherwise have gone.
 */
import { spawn } from 'node:child_process';
import { mkdir, readdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { SysrootGcResult } from '../../src/sysroot/index.js';
import { cfskit, type Run } from '../support/cli.js';
import { havePodman } from '../support/podman.js';
import { gated, haveTool } from '../support/prereq.js';
import { boundLink, BOUND_DIR, storeNames, withSysroot, type OsImage, type Sysroot } from '../support/sysroot-fixture.js';
import { file, symlink as tarSymlink } from '../support/tar-writer.js';

const it = gated(test, havePodman(), haveTool('skopeo'), haveTool('python3'));

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

const args = (s: Sysroot, extra: string[] = []): string[] => [
  'sysroot', 'gc', '--sysroot', s.root, '--kernel-cmdline', s.kernelCmdline, '--staged-file', s.stagedFile, '--runroot', s.store.runroot, '--json', ...extra,
];

async function gcJson(s: Sysroot, extra: string[] = []): Promise<{ run: Run; result: SysrootGcResult }> {
  const run = await cfskit(args(s, extra));
  assert.is(run.status, 0, run.stderr);
  return { run, result: JSON.parse(run.stdout) as SysrootGcResult };
}

/**
 * Runs a failing sysroot gc and checks that neither store changed; `damage`
 * is applied after the store was listed and undone before it is listed again.
 */
async function refused(s: Sysroot, message: RegExp, extra: string[] = [], damage?: { apply(): Promise<void>; undo(): Promise<void> }): Promise<void> {
  const names = await storeNames(s.store);
  const files = await repoFiles(s.layout.repository);
  await damage?.apply();
  let run: Run;
  try {
    run = await cfskit(args(s, extra));
  } finally {
    await damage?.undo();
  }
  assert.is(run.status, 1, run.stdout);
  assert.match(run.stderr, message);
  assert.not.match(run.stderr, /\n\s+at /, 'no stack trace');
  assert.equal(await storeNames(s.store), names, 'the store is as it was');
  assert.equal(await repoFiles(s.layout.repository), files, 'the repository is as it was');
}

it('damaged systems: reported, and nothing a deployment may need goes', () =>
  withSysroot(async (sysroot) => {
    await sysroot.addApp('localhost/app-a:1');
    await sysroot.addApp('localhost/floating:1');
    const booted = await sysroot.addOs('localhost/os-booted:1', [boundLink('app-a.image', 'localhost/app-a:1')]);
    const rollback = await sysroot.addOs('localhost/os-rollback:1', []);
    const notLink = await sysroot.addOs('localhost/os-notlink:1', [
      { entry: 'plain.image', members: [file(`${BOUND_DIR}/plain.image`, '[Image]\nImage=localhost/x:1\n')] },
    ]);
    const outside = await sysroot.addOs('localhost/os-outside:1', [
      { entry: 'out.image', members: [tarSymlink(`${BOUND_DIR}/out.image`, '../../../../../../../../etc/app.image')] },
    ]);
    // Tags of their own keep these two in the repository while they are not
    // deployed (the cases that prune dead bootc tags would collect them).
    for (const [i, image] of [notLink, outside].entries()) {
      const tagged = await cfskit(['--repo', sysroot.layout.repository, 'oci', 'tag', `@${image.manifestDigest}`, `hold/${i}`]);
      assert.is(tagged.status, 0, tagged.stderr);
    }
    await sysroot.deploy(booted);
    await sysroot.deploy(rollback);
    await sysroot.setBootState({ booted, entries: [booted, rollback] });
    const floating = 'localhost/floating:1';
    const everything = await storeNames(sysroot.store);
    assert.ok(everything.includes(floating));
    const keepsAll = async (why: RegExp, deployment: OsImage): Promise<void> => {
      const { result } = await gcJson(sysroot);
      assert.ok(result.problems.some((p) => p.includes(deployment.bootId) && why.test(p)), `problems: ${JSON.stringify(result.problems)}`);
      assert.match(result.containersStorage.pruningSkipped ?? '', new RegExp(deployment.bootId));
      assert.equal(result.containersStorage.removed, []);
      assert.equal(await storeNames(sysroot.store), everything, 'nothing pruned from the store');
      const images = await readdir(join(sysroot.layout.repository, 'images'));
      assert.ok(images.includes(deployment.bootId), 'the deployment\'s composefs image stays');
    };

    // A malformed origin: the deployment is kept, its image unknown, no tag pruned, no store pruning.
    const origin = sysroot.layout.originFile(rollback.bootId);
    await writeFile(origin, 'this is [not an origin\n');
    await keepsAll(/rollback|\.origin: is not valid INI/, rollback);
    {
      const { result } = await gcJson(sysroot);
      assert.equal(result.tagsRemoved, [], 'no bootc tag removed while a deployment\'s image is unknown');
    }
    // Missing.
    await rm(origin);
    await keepsAll(/origin file is missing/, rollback);
    await sysroot.deploy(rollback);

    // An origin naming an image neither store has.
    const ghostId = 'e'.repeat(128);
    await mkdir(sysroot.layout.deploymentDir(ghostId), { recursive: true });
    await writeFile(
      sysroot.layout.originFile(ghostId),
      `[origin]\ncontainer-image-reference = ostree-unverified-image:docker://quay.io/ghost/os:1\n[image]\nmanifest_digest = sha256:${'9'.repeat(64)}\n`,
    );
    {
      const { result } = await gcJson(sysroot);
      const ghost = result.deployments.find((d) => d.deployment.id === ghostId);
      assert.ok(ghost?.problems.some((p) => /its image sha256:9{64} is not in the repository/.test(p)));
      assert.ok(ghost?.problems.some((p) => /composefs image e{128} is not in the repository/.test(p)));
      assert.match(result.containersStorage.pruningSkipped ?? '', /bound images of deployment\(s\) e{128}/);
      assert.equal(await storeNames(sysroot.store), everything);
    }
    await rm(sysroot.layout.deploymentDir(ghostId), { recursive: true });

    // Bound-image entries that break bootc's rules.
    await sysroot.deploy(notLink);
    await keepsAll(/plain\.image: is not a symlink/, notLink);
    await rm(sysroot.layout.deploymentDir(notLink.bootId), { recursive: true });
    await sysroot.deploy(outside);
    await keepsAll(/out\.image: leads out of the image/, outside);
    await rm(sysroot.layout.deploymentDir(outside.bootId), { recursive: true });

    // A live deployment whose bootc tag is gone (pulled before bootc tagged): tagged again, nothing lost.
    await rm(join(sysroot.layout.repository, `streams/refs/oci/localhost%2Fbootc-${booted.manifestDigest}`));
    {
      const { result } = await gcJson(sysroot);
      assert.equal(result.tagsAdded, [`localhost/bootc-${booted.manifestDigest}`]);
      const status = await cfskit(['sysroot', 'status', '--sysroot', sysroot.root, '--json']);
      const d = (JSON.parse(status.stdout) as { deployments: { id: string; repository: { whole: boolean } }[] }).deployments.find((x) => x.id === booted.bootId);
      assert.ok(d?.repository.whole, 'the re-tagged deployment is whole');
    }

    // A dangling ref in the repository: refused before anything changes.
    const dangling = join(sysroot.layout.repository, 'streams/refs/oci/dangling');
    await symlink(`../../oci-manifest-sha256:${'0'.repeat(64)}`, dangling);
    await refused(sysroot, /streams\/refs\/oci\/dangling: is dangling/);
    await rm(dangling);

    // A store podman cannot open.
    const store = sysroot.layout.storage;
    await refused(sysroot, new RegExp(`${store}: podman image list failed`), [], {
      async apply() {
        await rename(store, `${store}.away`);
        await writeFile(store, 'not a directory');
      },
      async undo() {
        await rm(store);
        await rename(`${store}.away`, store);
      },
    });

    // A store another process holds locked (containers/storage takes fcntl locks).
    let holder: ReturnType<typeof spawn> | undefined;
    await refused(sysroot, /podman did not finish within 2 s; is the store locked by another process/, ['--podman-timeout', '2'], {
      async apply() {
        const lockFile = join(store, 'overlay-images/images.lock');
        const child = spawn('python3', ['-c', 'import fcntl,sys,time\nf=open(sys.argv[1],"r+")\nfcntl.lockf(f,fcntl.LOCK_EX)\nprint("locked",flush=True)\ntime.sleep(60)', lockFile], {
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        holder = child;
        await new Promise<void>((resolve, reject) => {
          child.stdout?.once('data', () => resolve());
          child.once('exit', () => reject(new Error('the lock holder died')));
        });
      },
      async undo() {
        const child = holder;
        if (child === undefined || child.exitCode !== null) return;
        const gone = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await gone;
      },
    });

    // No podman.
    await refused(sysroot, /\/nonexistent\/podman is not installed.*nothing was removed/, ['--podman', '/nonexistent/podman']);

    // Undamaged at last: the floating image and the undeployed OS images go, the rest stays.
    const { result } = await gcJson(sysroot);
    assert.equal(result.problems, []);
    assert.equal((await storeNames(sysroot.store)).sort(), ['localhost/app-a:1', 'localhost/os-booted:1', 'localhost/os-rollback:1']);
    const bootcTags = (await readdir(join(sysroot.layout.repository, 'streams/refs/oci'))).filter((t) => t.startsWith('localhost%2Fbootc-')).sort();
    assert.equal(bootcTags, [booted, rollback].map((i) => `localhost%2Fbootc-${i.manifestDigest}`).sort(), 'only live deployments keep bootc tags');
  }));

test.run();
