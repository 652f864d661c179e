/**
 * host-bindings called wrongly or where they cannot work: hostile
 * arguments (rejected by the addon itself, before any system call), a
 * process without the addon, an unprivileged process the kernel refuses.
 */
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ficlone, flock, linkFile, statx } from '../../host-bindings/index.js';
import { nativeHost } from '../../host-bindings/native.js';
import { run } from '../support/cli.js';
import { gated, haveRoot, haveTool } from '../support/prereq.js';
import { rejects } from '../support/rejects.js';
import { withTempDir } from '../support/tmp.js';

type RawCall = (...args: unknown[]) => unknown;

/** Calls the addon function `name` directly, as untyped JavaScript could. */
function callRaw(name: string, args: unknown[]): unknown {
  const host = nativeHost('hostile-argument tests') as unknown as Record<string, RawCall>;
  const fn = host[name];
  if (!fn) throw new Error(`the addon has no ${name}`);
  return fn(...args);
}

const nul = 'a\0b';
const hostile: [string, unknown[], typeof TypeError | typeof RangeError, RegExp][] = [
  ['ficlone', [], TypeError, /argument 0 must be a file descriptor/],
  ['ficlone', ['3', 4], TypeError, /argument 0 must be a file descriptor/],
  ['ficlone', [3], TypeError, /argument 1 must be a file descriptor/],
  ['ficlone', [-1, 4], RangeError, /argument 0 must be a whole number from 0 to 2147483647/],
  ['ficlone', [3, 2 ** 40], RangeError, /argument 1 must be a whole number/],
  ['ficlone', [1.5, 4], RangeError, /argument 0/],
  ['ficlone', [Number.NaN, 4], RangeError, /argument 0/],
  ['ficlone', [Number.POSITIVE_INFINITY, 4], RangeError, /argument 0/],
  ['copyFileRange', [3, 4, -1], RangeError, /argument 2 must be a whole number from 0 to 9007199254740991/],
  ['copyFileRange', [3, 4, 2 ** 60], RangeError, /argument 2/],
  ['copyFileRange', [3, 4, 10n], TypeError, /argument 2 must be a number/],
  ['openTmpfile', [`/tmp/${nul}`, 0o600], TypeError, /argument 0 contains a NUL byte/],
  ['openTmpfile', [Buffer.from(`/tmp/${nul}`), 0o600], TypeError, /contains a NUL byte/],
  ['openTmpfile', ['/tmp', 0o10000], RangeError, /argument 1 must be a whole number from 0 to 4095/],
  ['openTmpfile', [42, 0o600], TypeError, /argument 0 must be a path/],
  ['reopenReadOnly', [{}], TypeError, /file descriptor/],
  ['linkTmpfile', [3, nul], TypeError, /argument 1 contains a NUL byte/],
  ['linkTmpfile', [3], TypeError, /argument 1 must be a path/],
  ['linkFile', [nul, '/tmp/x'], TypeError, /NUL/],
  ['linkFile', ['/tmp/x'], TypeError, /argument 1 must be a path/],
  ['renameNoReplace', [null, '/tmp/x'], TypeError, /argument 0 must be a path/],
  ['statx', [], TypeError, /argument 0 must be a path/],
  ['statx', [{ fd: 3 }], TypeError, /argument 0 must be a path/],
  ['statx', [-3], RangeError, /argument 0/],
  ['statx', [2 ** 40], RangeError, /argument 0/],
  ['statx', [`/${nul}`], TypeError, /NUL/],
  ['syncfs', [-1], RangeError, /argument 0/],
  ['fsyncFd', ['1'], TypeError, /file descriptor/],
  ['flock', [3, 'sideways', false], TypeError, /"shared", "exclusive" or "unlock"/],
  ['flock', [3, 1, false], TypeError, /"shared", "exclusive" or "unlock"/],
  ['flock', [3, 'shared'], TypeError, /argument 2 must be a boolean/],
  ['flock', [-1, 'shared', false], RangeError, /argument 0/],
  ['writeObjects', ['/tmp', 'x', [], 0, 4096], TypeError, /contents and names must be arrays/],
  ['writeObjects', ['/tmp', [Buffer.from('a')], [], 0, 4096], RangeError, /contents and names must have the same length/],
  ['writeObjects', ['/tmp', ['not a buffer'], ['ab/cd'], 0, 4096], TypeError, /entry 0: content must be a Buffer and name a string/],
  ['writeObjects', ['/tmp', [Buffer.from('a')], [7], 0, 4096], TypeError, /entry 0: content must be a Buffer and name a string/],
  ['writeObjects', ['/tmp', [Buffer.from('a')], ['../../etc/x'], 0, 4096], TypeError, /object name must be xx\/rest/],
  ['writeObjects', ['/tmp', [Buffer.from('a')], ['ab/c/d'], 0, 4096], TypeError, /object name must be xx\/rest/],
  ['writeObjects', ['/tmp', [Buffer.from('a')], ['ab/cd'], 3, 4096], RangeError, /argument 3 must be a whole number from 0 to 2/],
  ['writeObjects', ['/tmp', [Buffer.from('a')], ['ab/cd'], 0, 100], RangeError, /argument 4 must be a whole number from 1024 to 65536/],
  ['writeObjects', [`/tmp/${nul}`, [], [], 0, 4096], TypeError, /NUL/],
  // fs-verity's kernel ids and block sizes are checked as strictly as the rest.
  ['enableVerity', ['/tmp/x', 1.5, 4096], RangeError, /argument 1 must be a whole number from 1 to 2/],
  ['enableVerity', ['/tmp/x', 3, 4096], RangeError, /argument 1 must be a whole number from 1 to 2/],
  ['enableVerity', ['/tmp/x', 2, 2 ** 40], RangeError, /argument 2 must be a whole number from 1024 to 65536/],
  ['enableVerity', ['/tmp/x', 2, 4097], RangeError, /argument 2 must be a power of two/],
  ['enableVerity', ['/tmp/x', '2', 4096], TypeError, /argument 1 must be a number/],
  ['enableVerity', [1.5, 2, 4096], RangeError, /argument 0/],
  ['measureVerity', [-1], RangeError, /argument 0/],
];

test('hostile arguments: the addon throws TypeError or RangeError, and keeps working', async () => {
  for (const [name, args, errorClass, message] of hostile) {
    const what = `${name}(${args.map((a) => (typeof a === 'bigint' ? `${a}n` : JSON.stringify(a))).join(', ')})`;
    try {
      const result = callRaw(name, args);
      // Resolve or reject, it must not have been accepted.
      await Promise.resolve(result).catch(() => undefined);
      assert.unreachable(`${what} was accepted`);
    } catch (err) {
      if (err instanceof assert.Assertion) throw err;
      assert.instance(err, errorClass, what);
      assert.match((err as Error).message, message, what);
    }
  }
  // Through the typed wrappers the same errors arrive as rejections, not SystemErrors.
  assert.instance(await rejects(ficlone(-1, 2 ** 40)), RangeError);
  assert.instance(await rejects(statx(`/${nul}`)), TypeError);
  assert.instance(await rejects(flock(0, 'sideways' as 'shared')), TypeError);
  assert.instance(await rejects(linkFile(Buffer.from(nul), '/tmp/x')), TypeError);
  assert.ok((await statx('/')).ino > 0n, 'the addon still works');
});

const hostIndex = new URL('../../host-bindings/index.js', import.meta.url).href;

/** A child process calling three host functions of two features; prints what each did. */
const probeScript = `
const host = await import(${JSON.stringify(hostIndex)});
const results = [];
for (const call of [() => host.statx('/'), () => host.ficlone(0, 1), () => host.statx('/')]) {
  try { await call(); results.push({ ok: true }); }
  catch (e) { results.push({ name: e.name, code: e.code, message: e.message }); }
}
console.log(JSON.stringify({ results, availability: host.hostAvailability() }));
`;

interface Probe {
  results: { ok?: boolean; name?: string; code?: string; message?: string }[];
  availability: { available: boolean; reason?: string };
}

async function probe(env: NodeJS.ProcessEnv): Promise<{ probe: Probe; stderr: string }> {
  const r = await run(process.execPath, ['--input-type=module', '-e', probeScript], { env });
  assert.is(r.status, 0, r.stderr);
  return { probe: JSON.parse(r.stdout) as Probe, stderr: r.stderr };
}

test('without the addon: HostUnavailableError naming each feature, one warning in all', async () => {
  const disabled = await probe({ ...process.env, CFSKIT_DISABLE_ADDON: '1' });
  assert.equal(disabled.probe.availability, { available: false, reason: 'disabled by CFSKIT_DISABLE_ADDON=1' });
  assert.is(disabled.probe.results[0]?.name, 'HostUnavailableError', 'disabled exactly as absent');
  assert.match(disabled.probe.results[0]?.message ?? '', /unavailable: disabled by CFSKIT_DISABLE_ADDON=1$/);
  const absent = await probe({ ...process.env, CFSKIT_HOST_ADDON: '/nonexistent/cfskit_host.node' });
  assert.is(absent.probe.results.length, 3);
  for (const result of absent.probe.results) {
    assert.is(result.name, 'HostUnavailableError');
    assert.is(result.code, 'host-unavailable');
    assert.match(result.message ?? '', 'CFSKIT_HOST_ADDON names /nonexistent/cfskit_host.node, which does not exist');
  }
  assert.match(absent.probe.results[0]?.message ?? '', /^reading file status \(statx\) needs cfskit's native host bindings/);
  assert.match(absent.probe.results[1]?.message ?? '', /^cloning a file \(FICLONE\) needs/);
  assert.is(absent.probe.availability.available, false);
  assert.is(absent.stderr.match(/CFSKIT_NO_HOST/g)?.length, 1, absent.stderr);

  // The same script with the addon: the failures above were its absence.
  const { CFSKIT_HOST_ADDON: _unset, ...withAddon } = process.env;
  const present = await probe(withAddon);
  assert.equal(present.probe.results[0], { ok: true });
  assert.is(present.probe.results[1]?.name, 'SystemError', 'ficlone(0, 1) reaches the kernel');
  assert.equal(present.probe.availability, { available: true });
  assert.not.match(present.stderr, /CFSKIT_NO_HOST/);
});

function protectedHardlinks(): string | undefined {
  const value = existsSync('/proc/sys/fs/protected_hardlinks') ? readFileSync('/proc/sys/fs/protected_hardlinks', 'utf8') : '';
  return value.trim() === '1' ? undefined : 'fs.protected_hardlinks is not 1';
}

gated(test, haveRoot(), haveTool('setpriv', ['--version']), protectedHardlinks())(
  "linkFile of another user's unreadable file, as an unprivileged user: EPERM",
  async () => {
    await withTempDir('link-eperm', async (dir) => {
      await chmod(dir, 0o755);
      const secret = join(dir, 'secret');
      await writeFile(secret, 'root only');
      await chmod(secret, 0o600);
      const shared = join(dir, 'shared');
      await mkdir(shared);
      await chmod(shared, 0o777);
      // Its own file links fine in the same directory: the EPERM is about whose file it is.
      const script = `
const { writeFileSync } = await import('node:fs');
const { linkFile } = await import(${JSON.stringify(hostIndex)});
const own = ${JSON.stringify(join(shared, 'own'))};
writeFileSync(own, 'mine');
for (const [from, to] of [[own, own + '-link'], [${JSON.stringify(secret)}, ${JSON.stringify(join(shared, 'stolen'))}]]) {
  try { await linkFile(from, to); console.log('linked'); }
  catch (e) { console.log(e.name, e.errno); }
}`;
      const r = await run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, '--input-type=module', '-e', script]);
      assert.is(r.stdout, 'linked\nSystemError EPERM\n', r.stderr);
    });
  },
);

test.run();
