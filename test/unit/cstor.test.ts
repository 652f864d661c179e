/**
 * The pure parts of the containers-storage reader: reference normalisation,
 * big data file names, storage.conf / $STORAGE_OPTS discovery, record
 * validation, the tar-split reader and CRC-64 through the wasm core, and
 * the command line's repeatable options.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { locateStores, readStorageConf, storageOptsImageStores } from '../../src/cstor/config.js';
import { readStoreJson } from '../../src/cstor/json.js';
import { ContentCheck } from '../../src/cstor/content.js';
import { parseImages, parseLayers } from '../../src/cstor/records.js';
import { normalizeName, parseReference } from '../../src/cstor/reference.js';
import { bigDataFileName } from '../../src/cstor/store.js';
import { tarsplit, withInput } from '../../src/core/wasm.js';
import { InputError, IntegrityError, UsageError } from '../../common/index.js';
import { withTempDir } from '../support/tmp.js';

async function rejects(promise: Promise<unknown>, check: RegExp | ((err: unknown) => boolean)): Promise<void> {
  try {
    await promise;
  } catch (err) {
    const ok = typeof check === 'function' ? check(err) : check.test((err as Error).message);
    assert.ok(ok, `unexpected error: ${(err as Error).message}`);
    return;
  }
  assert.unreachable('expected a rejection');
}

test('names normalise as podman writes them', () => {
  const cases: [string, string][] = [
    ['fedora', 'docker.io/library/fedora:latest'],
    ['fedora:39', 'docker.io/library/fedora:39'],
    ['library/fedora', 'docker.io/library/fedora:latest'],
    ['user/app:1.0', 'docker.io/user/app:1.0'],
    ['docker.io/fedora', 'docker.io/library/fedora:latest'],
    ['quay.io/fedora/fedora:40', 'quay.io/fedora/fedora:40'],
    ['localhost/x:1', 'localhost/x:1'],
    ['localhost:5000/a/b', 'localhost:5000/a/b:latest'],
    [`fedora@sha256:${'a'.repeat(64)}`, `docker.io/library/fedora@sha256:${'a'.repeat(64)}`],
    [`quay.io/x:1@sha256:${'b'.repeat(64)}`, `quay.io/x:1@sha256:${'b'.repeat(64)}`],
  ];
  for (const [input, want] of cases) assert.is(normalizeName(input), want, input);
  assert.is(parseReference('fedora').qualified, false);
  assert.is(parseReference('localhost/x').qualified, true);
  for (const bad of ['Fedora', 'a//b', 'x:', 'x@sha256:short', ':tag', 'a/-b']) {
    assert.throws(() => parseReference(bad), (err: unknown) => err instanceof UsageError && err.message.startsWith(`invalid image name "${bad}"`), bad);
  }
});

test('big data file names follow containers-storage', () => {
  assert.is(bigDataFileName('manifest'), 'manifest');
  assert.is(bigDataFileName('sha256:abc'), `=${Buffer.from('sha256:abc').toString('base64')}`);
  const key = `manifest-sha256:${'0'.repeat(64)}`;
  assert.is(bigDataFileName(key), `=${Buffer.from(key).toString('base64')}`);
  // Its Go code stops at the first other character and encodes only if
  // anything follows it.
  assert.is(bigDataFileName('abc:'), 'abc:');
  assert.is(bigDataFileName('Manifest'), `=${Buffer.from('Manifest').toString('base64')}`);
});

test('$STORAGE_OPTS additional image stores', () => {
  assert.equal(storageOptsImageStores(undefined), []);
  assert.equal(storageOptsImageStores('additionalimagestore=/a, overlay.mount_program=/x ,additionalimagestore=/b,additionalimagestore='), ['/a', '/b']);
});

test('storage.conf and environment choose the stores', async () => {
  await withTempDir('conf', async (dir) => {
    const home = join(dir, 'home');
    const graph = join(dir, 'graph');
    const extra = join(dir, 'extra');
    await mkdir(join(home, '.local/share/containers/storage'), { recursive: true });
    await mkdir(join(home, '.config/containers'), { recursive: true });
    await mkdir(graph);
    const conf = join(dir, 'storage.conf');
    await writeFile(conf, `[storage]\ndriver = "overlay"\ngraphroot = "${graph}"\nrootless_storage_path = "${extra}"\n[storage.options]\nadditionalimagestores = ["${extra}"]\n`);
    const base = { HOME: home, CONTAINERS_STORAGE_CONF: conf };
    let stores = await locateStores({ env: base, uid: 0 });
    assert.equal(stores.map((s) => [s.root, s.additional, s.configuredDriver]), [[graph, false, 'overlay'], [extra, true, '']]);
    assert.match(stores[0]?.source ?? '', `graphroot in ${conf}`);
    stores = await locateStores({ env: { ...base, STORAGE_OPTS: 'additionalimagestore=/o', STORAGE_DRIVER: 'vfs' }, uid: 0, additionalImageStores: ['/opt'] });
    assert.equal(stores.map((s) => s.root), [graph, extra, '/o', '/opt']);
    assert.is(stores[0]?.configuredDriver, 'vfs');
    // Without a storage.conf: the rootless default under $HOME.
    stores = await locateStores({ env: { HOME: home, CONTAINERS_STORAGE_CONF: '' }, uid: 1000 });
    assert.is(stores[0]?.root, join(home, '.local/share/containers/storage'));
    // A rootless user's own storage.conf graphroot counts.
    await writeFile(join(home, '.config/containers/storage.conf'), `[storage]\ngraphroot = "${graph}"\n`);
    stores = await locateStores({ env: { HOME: home }, uid: 1000 });
    assert.is(stores[0]?.root, graph);
    // An explicit root skips discovery.
    stores = await locateStores({ env: base, storageRoot: dir, additionalImageStores: [extra] });
    assert.equal(stores.map((s) => s.root), [dir, extra]);
    await writeFile(conf, '[storage\ndriver = ');
    await rejects(locateStores({ env: base }), (err: unknown) => err instanceof InputError && err.message.startsWith(`${conf}: not valid TOML`));
    await writeFile(conf, '[storage]\ndriver = 3\n');
    await rejects(readStorageConf(conf), /storage.driver must be a string/);
  });
});

test('records are validated strictly, naming the file', () => {
  const id = 'a'.repeat(64);
  const images = parseImages('images.json', [
    { id, names: ['localhost/x:1'], layer: 'b'.repeat(64), digest: `sha256:${'c'.repeat(64)}`, 'big-data-digests': { manifest: `sha256:${'d'.repeat(64)}`, [`sha256:${id}`]: `sha256:${id}` }, extra: 1 },
  ]);
  assert.equal(images[0]?.digests, [`sha256:${'c'.repeat(64)}`, `sha256:${'d'.repeat(64)}`]);
  assert.equal(parseImages('images.json', undefined), []);
  const layers = parseLayers('layers.json', [{ id, 'diff-size': -1, flags: { incomplete: true } }]);
  assert.equal([layers[0]?.diffSize, layers[0]?.incomplete], [undefined, true]);
  const bad: [unknown, string][] = [
    [{}, 'images.json: damaged: not a JSON list of records'],
    [[1], 'images.json: damaged: record 0: is not a JSON object'],
    [[{ names: [] }], 'images.json: damaged: record 0: no "id"'],
    [[{ id: 'ABC' }], 'images.json: damaged: record 0: "id" "ABC" is not a 64-digit hex ID'],
    [[{ id, names: 'x' }], `images.json: damaged: image ${id}: "names" is not a list of strings`],
    [[{ id, layer: '../x' }], `images.json: damaged: image ${id}: "layer" "../x" is not a 64-digit hex ID`],
    [[{ id }, { id }], `images.json: damaged: ID ${id} appears twice`],
  ];
  for (const [doc, message] of bad) {
    assert.throws(() => parseImages('images.json', doc), (err: unknown) => err instanceof InputError && err.message === message, message);
  }
  assert.throws(() => parseLayers('layers.json', [{ id, 'diff-size': 1.5 }]), /"diff-size" is not a size/);
  assert.throws(() => parseLayers('layers.json', [{ id, parent: 'x' }]), /"parent" "x" is not a 64-digit hex ID/);
});

test('store JSON: missing or empty is no records, damage is named', async () => {
  await withTempDir('json', async (dir) => {
    const path = join(dir, 'images.json');
    assert.is(await readStoreJson(path), undefined);
    await writeFile(path, '');
    assert.is(await readStoreJson(path), undefined);
    await writeFile(path, '[{"id":');
    await rejects(readStoreJson(path), (err: unknown) => err instanceof InputError && err.message.startsWith(`${path}: damaged: not valid JSON`));
  });
});

test('tar-split records and CRC-64 through the wasm core', () => {
  const lines = [
    '{"type":2,"payload":"AAAA","position":0}',
    '{"type":1,"name":"./gone","size":2,"payload":"YVMQAAAAAAA=","position":1}',
    '{"type":1,"name_raw":"Li9sYXRpbi3p","position":2}',
  ].join('\n');
  const reader = tarsplit.Reader.create();
  const bytes = Buffer.from(lines);
  const entries = [...reader.push(bytes.subarray(0, 50)), ...reader.push(bytes.subarray(50)), ...reader.finish()];
  reader[Symbol.dispose]();
  assert.is(entries.length, 3);
  const file = entries[1];
  assert.ok(file?.tag === 'file');
  assert.equal([Buffer.from(file.val.path).toString(), file.val.size, file.val.crc64], ['gone', 2n, 0x6153100000000000n]);
  const raw = entries[2];
  assert.ok(raw?.tag === 'file' && Buffer.from(raw.val.name).equals(Buffer.from('./latin-\xe9', 'latin1')));
  const crc = tarsplit.Crc64.create();
  crc.update(Buffer.from('123456'));
  crc.update(Buffer.from('789'));
  assert.is(crc.value(), 0xb90956c775a41001n);
  crc[Symbol.dispose]();
  const bad = tarsplit.Reader.create();
  assert.throws(() => withInput('layer x', () => bad.push(Buffer.from('{"type":9,"position":0}\n'))), (err: unknown) => err instanceof InputError && err.message === 'layer x: tar-split entry 0: unknown record type 9');
  bad[Symbol.dispose]();
});

test('ContentCheck names the layer, entry and file', () => {
  const entry = { input: 'layer abc…: tar-split entry 3', displayName: './gone', size: 2, crc64: 0x6153100000000000n };
  const ok = new ContentCheck(entry);
  ok.update(Buffer.from('x\n'));
  ok.finish();
  const wrong = new ContentCheck(entry);
  wrong.update(Buffer.from('y\n'));
  assert.throws(() => wrong.finish(), (err: unknown) => err instanceof IntegrityError && /^layer abc…: tar-split entry 3: CRC64 mismatch for .\/gone \(diff\/ has [0-9a-f]{16}, tar-split says 6153100000000000\)$/.test(err.message));
  const short = new ContentCheck(entry);
  short.update(Buffer.from('x'));
  assert.throws(() => short.finish(), /read 1 bytes of .\/gone, expected 2/);
});

test.run();
