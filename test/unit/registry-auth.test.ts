/**
 * Registry authentication as podman finds it: WWW-Authenticate
 * challenges, the auth files in containers-auth.json(5)'s order (the
 * first file with a match decides, the most specific key wins, Docker's
 * legacy keys), `--creds`, credential helpers (a real helper program
 * speaking the docker-credential protocol), and docker:// references.
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AuthError, InputError, UsageError } from '../../common/index.js';
import { authFilePaths, findCredentials, lookupKeys, parseChallenges, parseCreds, parseRegistryReference } from '../../src/registry/index.js';
import { rejects } from '../support/rejects.js';
import { withTempDir } from '../support/tmp.js';

const auth = (user: string, pass: string): { auth: string } => ({ auth: Buffer.from(`${user}:${pass}`).toString('base64') });

test('challenges: bearer with quoted parameters, basic, several in one header', () => {
  assert.equal(parseChallenges('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"'), [
    { scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull' } },
  ]);
  assert.equal(parseChallenges('Basic realm="cfskit test"'), [{ scheme: 'basic', params: { realm: 'cfskit test' } }]);
  assert.equal(parseChallenges(['Basic realm=x, Bearer realm="y\\"z",error=invalid_token']), [
    { scheme: 'basic', params: { realm: 'x' } },
    { scheme: 'bearer', params: { realm: 'y"z', error: 'invalid_token' } },
  ]);
  assert.equal(parseChallenges(undefined), []);
});

test('docker:// references: Docker Hub defaults, ports, digests', () => {
  const hub = parseRegistryReference('docker://fedora');
  assert.equal([hub.registry, hub.apiHost, hub.repository, hub.manifestRef, hub.name], ['docker.io', 'registry-1.docker.io', 'library/fedora', 'latest', 'docker.io/library/fedora:latest']);
  const local = parseRegistryReference('docker://127.0.0.1:5000/ns/app:v1');
  assert.equal([local.registry, local.apiHost, local.repository, local.tag], ['127.0.0.1:5000', '127.0.0.1:5000', 'ns/app', 'v1']);
  const digest = `sha256:${'a'.repeat(64)}`;
  const pinned = parseRegistryReference(`docker://quay.io/x/y@${digest}`);
  assert.equal([pinned.manifestRef, pinned.tag], [digest, undefined]);
  assert.throws(() => parseRegistryReference('docker://'), (e: unknown) => e instanceof UsageError);
  assert.throws(() => parseRegistryReference('docker://quay.io/UPPER:1'), (e: unknown) => e instanceof UsageError);
});

test('auth file order: --authfile alone, else XDG_RUNTIME_DIR, ~/.config, ~/.docker, ~/.dockercfg', () => {
  const env = { HOME: '/h', XDG_RUNTIME_DIR: '/run/user/7' };
  assert.equal(authFilePaths({ env }).map((p) => p.path), [
    '/run/user/7/containers/auth.json', '/h/.config/containers/auth.json', '/h/.docker/config.json', '/h/.dockercfg',
  ]);
  assert.equal(authFilePaths({ env: { ...env, REGISTRY_AUTH_FILE: '/r.json' } }).map((p) => p.path), ['/r.json']);
  assert.equal(authFilePaths({ env: { ...env, REGISTRY_AUTH_FILE: '/r.json' }, authFile: '/given.json' }).map((p) => p.path), ['/given.json']);
  assert.equal(authFilePaths({ env: { ...env, XDG_CONFIG_HOME: '/c', DOCKER_CONFIG: '/d' } }).map((p) => p.path).slice(1, 3), ['/c/containers/auth.json', '/d/config.json']);
  assert.equal(lookupKeys('quay.io', 'a/b/c'), ['quay.io/a/b/c', 'quay.io/a/b', 'quay.io/a', 'quay.io']);
});

test('credentials: the most specific key, the first file that has one, legacy Docker keys', async () => {
  await withTempDir('auth', async (dir) => {
    const env = { HOME: join(dir, 'home'), XDG_RUNTIME_DIR: join(dir, 'run') };
    await mkdir(join(dir, 'run/containers'), { recursive: true });
    await mkdir(join(dir, 'home/.docker'), { recursive: true });
    await writeFile(join(dir, 'run/containers/auth.json'), JSON.stringify({ auths: { 'reg.example/team': auth('team', 't'), 'reg.example': auth('any', 'a') } }));
    await writeFile(join(dir, 'home/.docker/config.json'), JSON.stringify({ auths: { 'https://index.docker.io/v1/': auth('hub', 'h'), 'other.example': auth('docker', 'd') } }));
    const find = (reg: string, repo: string): Promise<string | undefined> => findCredentials(reg, repo, { env }).then((c) => (c ? `${c.username}:${c.password}` : undefined));
    assert.is(await find('reg.example', 'team/app'), 'team:t');
    assert.is(await find('reg.example', 'solo/app'), 'any:a');
    assert.is(await find('docker.io', 'library/fedora'), 'hub:h');
    assert.is(await find('other.example', 'x'), 'docker:d');
    assert.is(await find('nowhere.example', 'x'), undefined);
    // --authfile: that file only.
    const only = join(dir, 'only.json');
    await writeFile(only, JSON.stringify({ auths: { 'reg.example': { username: 'u', password: 'p' } } }));
    const c = await findCredentials('other.example', 'x', { env, authFile: only });
    assert.is(c, undefined);
    assert.is((await findCredentials('reg.example', 'x', { env, authFile: only }))?.source, only);
    // Broken files are errors naming them, not silently skipped.
    await writeFile(only, '{"auths": ');
    const broken = await rejects(findCredentials('reg.example', 'x', { env, authFile: only }));
    assert.ok(broken instanceof InputError && broken.message.startsWith(`${only}: invalid JSON`), String(broken));
    await writeFile(only, JSON.stringify({ auths: { 'reg.example': { auth: Buffer.from('no-colon').toString('base64') } } }));
    assert.match(String(await rejects(findCredentials('reg.example', 'x', { env, authFile: only }))), /not base64 of user:password/);
  });
});

test('credential helpers: credHelpers per registry and credsStore, as docker-credential-NAME get', async () => {
  await withTempDir('credhelper', async (dir) => {
    const bin = join(dir, 'bin');
    await mkdir(bin);
    const helper = join(bin, 'docker-credential-cfskit-test');
    // Answers for one server only, as the protocol says: the server on stdin.
    await writeFile(helper, '#!/bin/sh\nread server\nif [ "$server" = "helped.example" ]; then echo \'{"ServerURL":"helped.example","Username":"h","Secret":"s3"}\'; else echo "credentials not found in native keychain"; exit 1; fi\n');
    await chmod(helper, 0o755);
    const file = join(dir, 'auth.json');
    await writeFile(file, JSON.stringify({ auths: {}, credHelpers: { 'helped.example': 'cfskit-test' }, credsStore: 'cfskit-test' }));
    const path = process.env.PATH;
    process.env.PATH = `${bin}:${path ?? ''}`;
    try {
      const found = await findCredentials('helped.example', 'a/b', { authFile: file });
      assert.equal(found, { username: 'h', password: 's3', source: 'docker-credential-cfskit-test' });
      assert.is(await findCredentials('unknown.example', 'a', { authFile: file }), undefined);
      await writeFile(file, JSON.stringify({ credHelpers: { 'x.example': 'not-installed-anywhere' } }));
      assert.is(await findCredentials('x.example', 'a', { authFile: file }), undefined);
      await writeFile(file, JSON.stringify({ credHelpers: { 'x.example': '../evil' } }));
      assert.ok((await rejects(findCredentials('x.example', 'a', { authFile: file }))) instanceof AuthError);
    } finally {
      process.env.PATH = path;
    }
  });
});

test('--creds USER[:PASSWORD]', () => {
  assert.equal(parseCreds('u:p:with:colons'), { username: 'u', password: 'p:with:colons', source: '--creds' });
  assert.equal(parseCreds('u'), { username: 'u', password: '', source: '--creds' });
  assert.throws(() => parseCreds(':p'), /user name is empty/);
});

test.run();
