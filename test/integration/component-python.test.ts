/**
 * docs/component.md's Python example, run as a user would: Python's wasmtime
 * (from PyPI, installed by setup into .cache/py) loads the shipped component
 * (dist/component/cfskit-core.wasm), digests a file and reads an EROFS image
 * cfskit wrote; both must equal what the CLI prints.
 */
import { existsSync } from 'node:fs';
import { mkdir, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cfskit, check } from '../support/cli.js';
import { pattern } from '../support/pattern.js';
import { gated } from '../support/prereq.js';
import { withTempDir } from '../support/tmp.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PYTHON = join(ROOT, '.cache/py/bin/python');
const EXAMPLE = join(ROOT, 'docs/examples/component.py');
const COMPONENT = join(ROOT, 'dist/component/cfskit-core.wasm');

const python = existsSync(PYTHON) ? undefined : `${PYTHON} is missing (run npm run setup)`;

async function ok(args: string[]): Promise<string> {
  const r = await cfskit(args);
  assert.is(r.status, 0, r.stderr);
  return r.stdout;
}

gated(test, python)('Python wasmtime through the component: digest and the dumpfile of an EROFS image, as the CLI prints them', async () => {
  await withTempDir('component-python', async (dir) => {
    const tree = join(dir, 'tree');
    await mkdir(join(tree, 'usr/lib'), { recursive: true });
    await mkdir(join(tree, 'etc'));
    await writeFile(join(tree, 'usr/lib/big'), pattern(200_000, 5));
    await writeFile(join(tree, 'etc/small'), 'inline\n');
    await symlink('../usr/lib/big', join(tree, 'etc/link'));
    for (const p of ['usr/lib/big', 'etc/small', 'usr/lib', 'usr', 'etc', '.']) await utimes(join(tree, p), 1_650_000_000, 1_650_000_000);
    const repo = join(dir, 'repo');
    await ok(['init', '--insecure', repo]);
    const id = (await ok(['--repo', repo, 'create-image', tree])).trim().replace(/^sha512:/, '');
    const file = join(tree, 'usr/lib/big');
    const out = await check(PYTHON, [EXAMPLE, COMPONENT, file, join(repo, 'images', id)]);
    const newline = out.indexOf('\n');
    assert.is(out.slice(0, newline + 1), await ok(['digest', file]));
    const dumpfile = out.slice(newline + 1);
    assert.is(dumpfile, await ok(['create-dumpfile', tree]));
    assert.match(dumpfile, /^\/usr\/lib\/big 200000 100644 .* [0-9a-f]{128}$/m, 'an external file, by its digest');
    assert.match(dumpfile, /^\/etc\/small 7 100644 .* inline\\n -$/m, 'an inline file');
  });
});

test.run();
