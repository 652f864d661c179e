/**
 * The pieces of the unified pull that need no podman: podman's three ways
 * of reporting a pull (report lines as podman 4.3.1 and 5.9 write them),
 * the registries.conf that makes one registry insecure (V1 and V2 files),
 * the version test for byte progress, and the `pulling` task podman's
 * reports drive (with a plan: totals fixed, cached layers counted, blobs
 * named by 12-digit prefixes; without: layers learnt as they come).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'smol-toml';
import { hasPullProgress, parseCompatReport, parseLibpodReport, parsePullLine, registryHost, stageOneError, withInsecureRegistry } from '../../src/podman/index.js';
import { PullingTask } from '../../src/pull/index.js';
import type { ProgressBytesEvent, TaskEvent } from '../../src/progress/index.js';

const test = suite('unified pull: reports, registries.conf, pulling task');

/** TOML as plain objects (smol-toml's have no prototype). */
const toml = (text: string): unknown => JSON.parse(JSON.stringify(parse(text)));

const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;

test('the Docker-compatible stream of podman 4.3.1', () => {
  assert.equal(parseCompatReport('{"status":"Pulling fs layer","progressDetail":{},"id":"aaaaaaaaaaaa"}'), [{ kind: 'started', blob: 'aaaaaaaaaaaa' }]);
  assert.equal(parseCompatReport('{"status":"Downloading","progressDetail":{"current":71343104,"total":200018999},"id":"aaaaaaaaaaaa"}'), [
    { kind: 'bytes', blob: 'aaaaaaaaaaaa', current: 71343104, total: 200018999 },
  ]);
  assert.equal(parseCompatReport('{"status":"Download complete","progressDetail":{},"id":"aaaaaaaaaaaa"}'), [{ kind: 'done', blob: 'aaaaaaaaaaaa' }]);
  assert.equal(parseCompatReport('{"status":"Already exists","progressDetail":{},"id":"aaaaaaaaaaaa"}'), [{ kind: 'cached', blob: 'aaaaaaaaaaaa' }]);
  assert.equal(parseCompatReport('{"progressDetail":{},"errorDetail":{"message":"reading manifest 1: manifest unknown"},"error":"x"}'), [
    { kind: 'error', message: 'reading manifest 1: manifest unknown' },
  ]);
  assert.equal(parseCompatReport('{"status":"Something new","id":"aaaaaaaaaaaa"}'), [], 'unknown statuses are ignored');
  assert.throws(() => parseCompatReport('not json'), /podman \/images\/create: sent a line that is not JSON/);
  assert.throws(() => parseCompatReport('[1]'), /not a JSON object/);
});

test('libpod: stream lines of podman 4, pullProgress of podman 5.9, the final report', () => {
  assert.equal(parseLibpodReport(`{"stream":"Copying blob ${A}\\n"}`), [{ kind: 'started', blob: 'a'.repeat(64) }]);
  assert.equal(parseLibpodReport(`{"status":"pulling","pullProgress":{"status":"pulling","current":12,"total":99,"progressComponentID":"${A}"}}`), [
    { kind: 'bytes', blob: A, current: 12, total: 99 },
  ]);
  assert.equal(parseLibpodReport(`{"pullProgress":{"status":"success","progressComponentID":"${A}"}}`), [{ kind: 'done', blob: A }]);
  assert.equal(parseLibpodReport(`{"pullProgress":{"status":"skipped","progressComponentID":"${A}"}}`), [{ kind: 'cached', blob: A }]);
  assert.equal(parseLibpodReport('{"images":["abc"],"id":"abc"}'), [{ kind: 'pulled', imageId: 'abc' }]);
  assert.equal(parseLibpodReport('{"error":"something went wrong"}'), [{ kind: 'error', message: 'something went wrong' }]);
  assert.equal(parseLibpodReport(`{"pullProgress":{"status":"pulling","current":-5,"total":"x","progressComponentID":"${A}"}}`), [
    { kind: 'bytes', blob: A, current: 0, total: 0 },
  ], 'nonsense numbers count as 0');
});

test('podman pull on stderr', () => {
  assert.equal(parsePullLine(`Copying blob ${A}`), [{ kind: 'started', blob: 'a'.repeat(64) }]);
  assert.equal(parsePullLine(`Copying blob ${A.slice(0, 19)} skipped: already exists`), [{ kind: 'cached', blob: 'a'.repeat(12) }]);
  assert.equal(parsePullLine(`Copying blob ${A} done`), [{ kind: 'done', blob: 'a'.repeat(64) }]);
  assert.equal(parsePullLine('Copying config sha256:cc'), [{ kind: 'layers-done' }]);
  assert.equal(parsePullLine('Writing manifest to image destination'), [{ kind: 'layers-done' }]);
  assert.equal(parsePullLine('Error: initializing source: x'), [{ kind: 'error', message: 'initializing source: x' }]);
});

test('byte progress from podman 5.9 on; registry hosts; failures keep podman\'s words and their kind', () => {
  assert.ok(hasPullProgress({ version: '5.9.0', major: 5, minor: 9 }));
  assert.ok(hasPullProgress({ version: '6.0.1', major: 6, minor: 0 }));
  assert.not.ok(hasPullProgress({ version: '4.3.1', major: 4, minor: 3 }));
  assert.not.ok(hasPullProgress({ version: '5.8.2', major: 5, minor: 8 }));
  assert.is(registryHost('127.0.0.1:5000/a/b:1'), '127.0.0.1:5000');
  assert.is(registryHost('quay.io/a/b'), 'quay.io');
  assert.is(registryHost('library/fedora'), undefined, 'a short name names no host');
  assert.is(stageOneError('docker://r/x:1', 'reading manifest 1 in r/x: manifest unknown').code, 'not-found');
  assert.is(stageOneError('docker://r/x:1', 'authentication required').code, 'auth');
  const other = stageOneError('docker://r/x:1', 'pinging container registry r: connection refused');
  assert.is(other.code, 'system');
  assert.is(other.message, 'docker://r/x:1: podman could not pull it: pinging container registry r: connection refused');
});

test('registries.conf: one registry insecure, V2 and V1 files kept otherwise', () => {
  const none = toml(withInsecureRegistry(undefined, '127.0.0.1:5000')) as { registry: { location: string; insecure: boolean }[] };
  assert.equal(none.registry, [{ location: '127.0.0.1:5000', insecure: true }]);
  const v2 = 'unqualified-search-registries = ["quay.io"]\n[[registry]]\nlocation = "127.0.0.1:5000"\n[[registry.mirror]]\nlocation = "m.example"\n';
  const merged = toml(withInsecureRegistry({ path: 'r.conf', text: v2 }, '127.0.0.1:5000')) as Record<string, unknown>;
  assert.equal(merged['unqualified-search-registries'], ['quay.io']);
  assert.equal(merged.registry, [{ location: '127.0.0.1:5000', mirror: [{ location: 'm.example' }], insecure: true }]);
  const v1 = '[registries.search]\nregistries = ["docker.io"]\n[registries.insecure]\nregistries = ["old.example"]\n';
  const kept = toml(withInsecureRegistry({ path: 'r.conf', text: v1 }, 'new.example')) as { registries: Record<string, { registries: string[] }> };
  assert.equal(kept.registries.insecure?.registries, ['old.example', 'new.example']);
  assert.equal(kept.registries.search?.registries, ['docker.io']);
  assert.throws(() => withInsecureRegistry({ path: '/etc/containers/registries.conf', text: '[[registry' }, 'x'), /\/etc\/containers\/registries.conf: is not valid TOML/);
});

function collect(): { events: ProgressBytesEvent[]; sink: (e: TaskEvent) => void } {
  const events: ProgressBytesEvent[] = [];
  return { events, sink: (e) => e.type === 'ProgressBytes' && events.push(e) };
}

test('pulling task with a plan: totals fixed from the start, cached layers counted, prefixes matched, the config ignored', () => {
  const { events, sink } = collect();
  const plan = { manifestDigest: 'sha256:m', layers: [{ digest: A, size: 100, diffId: undefined, present: true }, { digest: B, size: 50, diffId: undefined, present: false }] };
  const task = new PullingTask({ description: 'Pulling x', id: 'sha256:m' }, plan, sink);
  task.report({ kind: 'started', blob: 'b'.repeat(12) });
  task.report({ kind: 'bytes', blob: 'b'.repeat(12), current: 20, total: 50 });
  task.report({ kind: 'bytes', blob: 'c'.repeat(12), current: 5, total: 9 });
  task.report({ kind: 'done', blob: 'b'.repeat(12) });
  task.complete();
  const last = events.at(-1);
  assert.equal([last?.bytesCached, last?.bytes, last?.bytesTotal, last?.stepsCached, last?.steps, last?.stepsTotal], [100, 50, 50, 1, 1, 1]);
  assert.ok(events.every((e) => e.bytesTotal === 50 && e.subtasks.length === 2), 'totals and subtasks never change');
  assert.equal(task.counts(), { layers: 2, present: 1 });
});

test('pulling task without a plan: layers declared as podman sizes them, the rest from the stored manifest', () => {
  const { events, sink } = collect();
  const task = new PullingTask({ description: 'Pulling x', id: 'x' }, undefined, sink);
  task.report({ kind: 'bytes', blob: A, current: 10, total: 100 });
  task.report({ kind: 'started', blob: 'b'.repeat(12) });
  task.completeWith([{ digest: A, size: 100 }, { digest: B, size: 7 }]);
  const last = events.at(-1);
  assert.equal(last?.subtasks.map((s) => [s.id, s.bytes, s.bytesTotal]), [[A, 100, 100], [B, 7, 7]]);
  assert.equal(task.counts(), { layers: 2, present: 0 });
});

test.run();
