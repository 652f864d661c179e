/**
 * The command line as cli/argv.ts reads it, on cfskit's real commands:
 * where the shared options may go, `--`, unknown and repeated options,
 * missing and empty values, enums, booleans and their --no- forms, and
 * positional counts. Every refusal is a UsageError naming the option.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UsageError } from '../../common/index.js';
import { resolveCommandLine, type Resolved } from '../../cli/argv.js';
import { main } from '../../cli/main.js';
import { rejects } from '../support/rejects.js';

async function runs(argv: string[]): Promise<{ path: string; args: Record<string, unknown> }> {
  const r: Resolved = await resolveCommandLine(main, argv);
  if (r.kind !== 'run') throw new Error(`${argv.join(' ')}: resolved to ${r.kind}`);
  return { path: r.path.join(' '), args: r.args };
}

async function refused(argv: string[], message: RegExp): Promise<void> {
  const err = await rejects(resolveCommandLine(main, argv));
  assert.instance(err, UsageError, argv.join(' '));
  assert.match((err as Error).message, message, argv.join(' '));
}

test('the shared options go before the command, between its words, or after it', async () => {
  for (const argv of [
    ['--repo', '/r', 'oci', 'images'],
    ['oci', '--repo', '/r', 'images'],
    ['oci', 'images', '--repo', '/r'],
    ['oci', 'images', '--repo=/r'],
    ['--repo=/r', 'oci', 'images', '--json'],
  ]) {
    const { path, args } = await runs(argv);
    assert.is(path, 'oci images', argv.join(' '));
    assert.is(args.repo, '/r', argv.join(' '));
  }
  // A value is never taken for a command name, even one that is a command's.
  const tricky = await runs(['--repo', 'fsck', 'fsck']);
  assert.is(tricky.path, 'fsck');
  assert.is(tricky.args.repo, 'fsck');
  assert.is((await runs(['--user', 'fsck'])).args.user, true);
  assert.is((await runs(['fsck'])).args.system, false);
});

test('a command\'s own option before its name is refused, saying where it goes', async () => {
  await refused(['oci', '--storage-root', '/tmp', 'pull', 'containers-storage:x'], /unknown option --storage-root before the command .*after its name/);
  await refused(['--json', 'fsck'], /unknown option --json before the command/);
  const { args } = await runs(['oci', 'pull', '--storage-root', '/tmp', 'containers-storage:x']);
  assert.is(args.storageRoot, '/tmp');
  assert.is(args.image, 'containers-storage:x');
});

test('unknown commands and options are named', async () => {
  await refused(['nonsense'], /unknown command "nonsense" \(see cfskit --help\)/);
  await refused(['oci', 'nonsense'], /unknown command "oci nonsense" \(see cfskit oci --help\)/);
  await refused(['digest', '--frobnicate', 'f'], /^unknown option --frobnicate$/);
  await refused(['digest', '-q', 'f'], /^unknown option -q$/);
  await refused(['digest', '--no-threads', 'f'], /^unknown option --no-threads$/);
  await refused(['--', 'digest'], /"--" before a command/);
});

test('-- ends the options: what follows is positional, even --help', async () => {
  const { args } = await runs(['digest', '--json', '--', '--help', '-x', '--repo']);
  assert.equal(args.files, '--help');
  assert.equal(args._, ['--help', '-x', '--repo']);
  assert.is(args.json, true);
  assert.is(args.repo, undefined);
  assert.equal(args['--'], ['--help', '-x', '--repo'], 'what follows -- is kept apart too');
  assert.equal((await runs(['digest', 'a', '--', 'b'])).args['--'], ['b']);
  assert.equal((await runs(['digest', 'a'])).args['--'], []);
});

test('repeated options: repeatable ones keep every value in order, others are refused', async () => {
  const { args } = await runs(['oci', 'pull', '--additional-image-store', '/a', '--storage-root=/r', 'containers-storage:x', '--additional-image-store=/b', '--', '--additional-image-store']);
  assert.equal(args.additionalImageStore, ['/a', '/b']);
  assert.is(args.storageRoot, '/r');
  assert.equal(args._, ['containers-storage:x', '--additional-image-store']);
  assert.equal((await runs(['oci', 'pull', 'containers-storage:x'])).args.additionalImageStore, []);
  await refused(['oci', 'pull', '--storage-root', '/a', '--storage-root', '/b', 'x'], /option --storage-root given more than once/);
  await refused(['--repo', '/a', 'fsck', '--repo', '/b'], /option --repo given more than once/);
  await refused(['fsck', '--json', '--json'], /option --json given more than once/);
  await refused(['--repo', '/a', '--user', 'fsck'], /choose one of --repo, --user and --system/);
});

test('values: missing, empty, outside an enum; booleans take none', async () => {
  await refused(['digest', 'f', '--block-size'], /^option --block-size needs a value$/);
  await refused(['--repo'], /option --repo needs a value/);
  await refused(['oci', 'pull', '--storage-root', '--json', 'x'], /option --storage-root needs a value \(to give one that starts with "-", write --storage-root=VALUE\)/);
  await refused(['--repo', '', 'fsck'], /option --repo needs a value \(DIR\)/);
  await refused(['oci', 'pull', '--additional-image-store=', 'x'], /option --additional-image-store needs a value \(DIR\)/);
  await refused(['digest', '--hash-alg', 'md5', 'f'], /option --hash-alg must be one of sha256, sha512 \(got "md5"\)/);
  await refused(['fsck', '--json=yes'], /option --json takes no value/);
  assert.is((await runs(['digest', '--block-size=-1', 'f'])).args.blockSize, '-1', 'a value may start with - when given with =');
});

test('booleans: false unless given, true defaults turned off with --no-', async () => {
  assert.is((await runs(['fsck'])).args.json, false);
  assert.is((await runs(['fsck', '--json'])).args.json, true);
  assert.is((await runs(['compute-id', '/d'])).args.propagateUsrToRoot, true);
  assert.is((await runs(['compute-id', '--no-propagate-usr-to-root', '/d'])).args.propagateUsrToRoot, false);
  assert.is((await runs(['cstor', 'layer-tar', 'abc', '--no-verify-digest'])).args.verifyDigest, false);
});

test('a boolean declared valued also takes =true and =false (skopeo\'s --tls-verify=false), others do not', async () => {
  assert.is((await runs(['oci', 'pull', 'docker://h/x', '--tls-verify=false'])).args.tlsVerify, false);
  assert.is((await runs(['oci', 'pull', 'docker://h/x', '--tls-verify=true'])).args.tlsVerify, true);
  assert.is((await runs(['oci', 'pull', 'docker://h/x', '--no-tls-verify'])).args.tlsVerify, false);
  assert.is((await runs(['oci', 'pull', 'docker://h/x'])).args.tlsVerify, true);
  await refused(['oci', 'pull', 'docker://h/x', '--tls-verify=no'], /option --tls-verify takes no value/);
  await refused(['oci', 'pull', 'docker://h/x', '--tls-verify=false', '--tls-verify'], /option --tls-verify given more than once/);
  await refused(['fsck', '--json=false'], /option --json takes no value/);
});

test('defaults and camelCase keys come from the declaration', async () => {
  const { args } = await runs(['digest', 'a', 'b']);
  assert.is(args.hashAlg, 'sha512');
  assert.is(args.blockSize, '4096');
  assert.is(args.threads, undefined);
  assert.equal(args._, ['a', 'b']);
});

test('positionals: too few and too many are refused; variadic commands take any number', async () => {
  await refused(['digest'], /missing arguments \(expected FILE\.\.\.\)/);
  await refused(['oci', 'tag', '@sha256:x'], /missing arguments \(expected @DIGEST NAME\)/);
  await refused(['cat', 'a', 'b'], /too many arguments \(expected at most 1\)/);
  assert.equal((await runs(['digest', 'a', 'b', 'c', 'd'])).args._, ['a', 'b', 'c', 'd']);
  const { args } = await runs(['create-image', '/d']);
  assert.is(args.path, '/d');
  assert.is(args.name, undefined);
  assert.equal((await runs(['oci', 'import-layer', 'sha256:x', '-'])).args.name, '-', '"-" is a positional');
});

test('--help and -h anywhere before --, a group without a subcommand, are not runs', async () => {
  for (const argv of [['--help'], ['oci', '--help'], ['oci', 'pull', '-h'], ['oci', 'pull', 'x', '--bogus', '--help'], ['--repo', '/r', 'fsck', '--help']]) {
    assert.is((await resolveCommandLine(main, argv)).kind, 'help', argv.join(' '));
  }
  const oci = await resolveCommandLine(main, ['oci']);
  assert.is(oci.kind, 'incomplete');
  assert.equal(oci.path, ['oci']);
  assert.is((await resolveCommandLine(main, [])).kind, 'incomplete');
});

test.run();
