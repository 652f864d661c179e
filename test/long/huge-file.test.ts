/**
 * Opt-in long run (node scripts/run-tests.mjs long): a layer holding a file
 * over 8 GiB — its tar header needs a base-256 size — goes through podman,
 * `oci pull` and `oci layer` unchanged. Needs ~30 GiB of free disk.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cfskit, check } from '../support/cli.js';
import { havePodman, withPodmanStore } from '../support/podman.js';
import { gated } from '../support/prereq.js';

const SIZE = 9 * 2 ** 30 + 12345;

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 22 })) hash.update(chunk as Buffer);
  return `sha256:${hash.digest('hex')}`;
}

/** sha256 of a command's stdout, without holding it in memory. */
function sha256Of(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    const hash = createHash('sha256');
    child.stdout.on('data', (c: Buffer) => hash.update(c));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(`sha256:${hash.digest('hex')}`) : reject(new Error(`${cmd} exited ${code}`))));
  });
}

gated(test, havePodman())('a 9 GiB file survives import and comes back byte for byte', async () => {
  await withPodmanStore(async (store) => {
    const tree = join(store.dir, 'tree');
    await mkdir(join(tree, 'data'), { recursive: true });
    const fh = await open(join(tree, 'data/huge'), 'w');
    await fh.write(Buffer.from('start'), 0, 5, 0);
    await fh.write(Buffer.from('end'), 0, 3, SIZE - 3);
    await fh.close();
    const tar = join(store.dir, 'huge.tar');
    await check('tar', ['--format=gnu', '-C', tree, '-cf', tar, '.']);
    const image = await store.importTar(tar, 'localhost/cfskit-huge:1');
    const diffId = image.layers[0]?.diffId ?? '';
    assert.is(await sha256File(tar), diffId);
    const repo = join(store.dir, 'repo');
    assert.is((await cfskit(['--repo', repo, 'init', '--insecure'])).status, 0);
    const pulled = await cfskit(['--repo', repo, 'oci', 'pull', 'containers-storage:localhost/cfskit-huge:1', '--storage-root', store.root]);
    assert.is(pulled.status, 0, pulled.stderr);
    assert.is(await sha256Of(process.execPath, [join(process.cwd(), 'bin/cfskit'), '--repo', repo, 'oci', 'layer', diffId]), diffId);
  });
});

test.run();
