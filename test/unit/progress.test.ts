/**
 * The bootc progress protocol: task snapshots (cached layers, counters
 * that only go up, totals fixed once reported), canonical JSON as bootc
 * writes it, and the JSON Lines writer — Start first, at most 5 lines a
 * second however fast snapshots come, the last state of every task
 * written before close returns, a dead descriptor survived.
 */
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ByteTask, canonicalJson, JsonlProgressWriter, parseProgressFd, StepTask, type TaskEvent } from '../../src/progress/index.js';
import { UsageError } from '../../common/index.js';
import { progressProblems } from '../support/progress-protocol.js';
import { withTempDir } from '../support/tmp.js';

const identity = { task: 'pulling', description: 'Pulling x', id: 'sha256:m' };

test('a byte task counts cached layers apart, complete from the start, and its counters only go up', () => {
  const events: { event: TaskEvent; required: boolean }[] = [];
  const task = new ByteTask(identity, (event, required) => events.push({ event, required }));
  task.add('sha256:a', 'Layer a', 1000);
  task.add('sha256:b', 'Layer b', 500, { cached: true });
  task.add('sha256:c', 'Layer c', 200);
  task.begin();
  task.start('sha256:a');
  task.advance('sha256:a', 400);
  task.advance('sha256:a', 300); // never back
  task.advance('sha256:a', 5000); // never past the total
  task.complete('sha256:a');
  task.start('sha256:c');
  task.complete('sha256:c');
  const last = task.snapshot();
  assert.equal(
    { bytesCached: last.bytesCached, bytes: last.bytes, bytesTotal: last.bytesTotal, stepsCached: last.stepsCached, steps: last.steps, stepsTotal: last.stepsTotal },
    { bytesCached: 500, bytes: 1200, bytesTotal: 1200, stepsCached: 1, steps: 2, stepsTotal: 2 },
  );
  assert.equal(last.subtasks.map((s) => [s.id, s.bytesCached, s.bytes, s.bytesTotal]), [
    ['sha256:a', 0, 1000, 1000],
    ['sha256:b', 500, 500, 500],
    ['sha256:c', 0, 200, 200],
  ]);
  const first = events[0]?.event;
  assert.ok(first?.type === 'ProgressBytes' && first.bytesCached === 500 && first.bytesTotal === 1200 && first.subtasks[1]?.bytes === 500);
  // Start, end and begin are required; within-layer updates are not.
  assert.ok(events.filter((e) => e.required).length >= 5);
  const lines = [canonicalJson({ type: 'Start', version: '0.1.0' }), ...events.map((e) => canonicalJson(e.event))];
  assert.equal(progressProblems(lines), []);
  assert.throws(() => task.advance('sha256:zzz', 1), /no subtask sha256:zzz/);
});

test('a step task completes each step once; cached steps count as cached', () => {
  const events: TaskEvent[] = [];
  const task = new StepTask({ ...identity, task: 'importing' }, (e) => events.push(e));
  task.add('config', 'Config');
  task.add('manifest', 'Manifest');
  task.add('image', 'Image');
  task.begin();
  task.complete('config', true);
  task.complete('manifest');
  task.complete('manifest');
  task.complete('image');
  assert.is(events.length, 4);
  const last = events.at(-1);
  assert.ok(last?.type === 'ProgressSteps');
  assert.equal([last.stepsCached, last.steps, last.stepsTotal], [1, 2, 3]);
  assert.equal(progressProblems([canonicalJson({ type: 'Start', version: '0.1.0' }), ...events.map((e) => canonicalJson(e))]), []);
});

test('canonical JSON sorts keys at every level, as bootc writes its lines', () => {
  assert.is(canonicalJson({ type: 'X', b: [{ z: 1, a: 'q' }], a: 2, u: undefined }), '{"a":2,"b":[{"a":"q","z":1}],"type":"X"}');
});

test('the checker refuses what the protocol forbids', () => {
  const start = '{"type":"Start","version":"0.1.0"}';
  const bytes = (b: number, total = 10): string =>
    canonicalJson({ type: 'ProgressBytes', task: 't', description: 'd', id: 'i', bytesCached: 0, bytes: b, bytesTotal: total, stepsCached: 0, steps: b === total ? 1 : 0, stepsTotal: 1, subtasks: [] });
  assert.equal(progressProblems([start, bytes(5), bytes(10)]), []);
  assert.match(progressProblems([start, bytes(6), bytes(5), bytes(10)]).join('\n'), 'bytes went back from 6 to 5');
  assert.match(progressProblems([start, bytes(5)]).join('\n'), 'ends at 5/10 bytes');
  assert.match(progressProblems([start, bytes(5, 10), bytes(12, 12)]).join('\n'), 'bytesTotal changed');
  assert.match(progressProblems([bytes(10)]).join('\n'), 'first line is not');
  assert.match(progressProblems([start, '{"type":"ProgressBytes","task":"t"}']).join('\n'), 'does not match the schema');
  assert.match(progressProblems([start, bytes(10).replace('"bytes":10', '"bytes":-1')]).join('\n'), 'does not match the schema');
});

test('--progress-fd must be a descriptor above 2', () => {
  assert.is(parseProgressFd('3'), 3);
  for (const bad of ['0', '2', '-1', 'x', '3.5', '']) assert.throws(() => parseProgressFd(bad), (e: unknown) => e instanceof UsageError);
});

test('the JSON Lines writer: Start first, at most 5 lines a second, every task\'s last state written', async () => {
  await withTempDir('progress', async (dir) => {
    const path = join(dir, 'progress.jsonl');
    const fd = openSync(path, 'w');
    const started = performance.now();
    try {
      const writer = new JsonlProgressWriter(fd);
      const pulling = new ByteTask(identity, writer.sink);
      pulling.add('sha256:a', 'Layer a', 1_000_000);
      pulling.begin();
      pulling.start('sha256:a');
      // 1.2 s of updates as fast as they come.
      for (let i = 1; performance.now() - started < 1200; i++) {
        pulling.advance('sha256:a', Math.min(999_999, i * 97));
        writer.sink(pulling.snapshot());
        await new Promise((resolve) => setImmediate(resolve));
      }
      pulling.complete('sha256:a');
      const importing = new StepTask({ ...identity, task: 'importing' }, writer.sink);
      importing.add('config', 'Config');
      importing.begin();
      importing.complete('config');
      await writer.close();
    } finally {
      closeSync(fd);
    }
    const seconds = (performance.now() - started) / 1000;
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
    assert.equal(progressProblems(lines), []);
    // Start shares the first write (at 0 s); after that one line per 200 ms at most.
    assert.ok(lines.length - 1 <= seconds * 5 + 1.05, `${lines.length} lines in ${seconds.toFixed(2)} s`);
    assert.ok(lines.length >= 4, `${lines.length} lines`);
    const finals = lines.slice(1).map((l) => JSON.parse(l) as { type: string; bytes?: number; steps?: number });
    assert.is(finals.filter((e) => e.type === 'ProgressBytes').at(-1)?.bytes, 1_000_000);
    assert.is(finals.at(-1)?.type, 'ProgressSteps');
    assert.is(finals.at(-1)?.steps, 1);
  });
});

test('a descriptor that fails is reported once and then left alone', async () => {
  const messages: string[] = [];
  const fd = openSync('/dev/null', 'r'); // writing to a read-only descriptor fails (EBADF)
  try {
    const writer = new JsonlProgressWriter(fd, (m) => messages.push(m));
    const task = new StepTask({ ...identity, task: 'importing' }, writer.sink);
    task.add('a', 'A');
    task.begin();
    task.complete('a');
    await writer.close();
  } finally {
    closeSync(fd);
  }
  assert.is(messages.length, 1);
  assert.match(messages[0] ?? '', /--progress-fd \d+: .*EBADF.*no longer written there/);
});

test.run();
