/**
 * A child process for crash and concurrency tests: writes a deterministic
 * set of objects and streams (with refs) into the repository given on the
 * command line, printing "done" at the end. Being killed at any point must
 * leave the repository consistent.
 *   node repo-writer.js REPO COUNT SEED
 */
import { Repository } from '../../src/repository/index.js';
import { CONTENT_TYPES } from '../../src/splitstream/index.js';
import { pattern } from './pattern.js';

const [repoPath, countArg, seedArg] = process.argv.slice(2);
if (!repoPath || !countArg || !seedArg) throw new Error('usage: repo-writer REPO COUNT SEED');
const count = Number(countArg);
const seed = Number(seedArg);

/** The content of stream i: inline text around two objects. */
export function streamParts(i: number, seedValue: number): Buffer[] {
  return [Buffer.from(`stream ${i} begins\n`), pattern(20000 + i * 977, seedValue + i), Buffer.from('middle'), pattern(70000 + i, seedValue * 3 + i)];
}

const repo = await Repository.open(repoPath, { write: true });
try {
  for (let i = 0; i < count; i++) {
    const contentId = `test-${seed}-${i}`;
    // A writer killed between committing a stream and naming it leaves the
    // stream without its ref: resuming names it (setRef replaces atomically).
    if ((await repo.streams.has(contentId)) !== undefined) {
      await repo.streams.setRef(`crash/${contentId}`, contentId);
      continue;
    }
    const [head, a, mid, b] = streamParts(i, seed) as [Buffer, Buffer, Buffer, Buffer];
    const objA = await repo.objects.ensureObject(a);
    const objB = await repo.objects.ensureObject(b);
    const writer = repo.streams.writer(CONTENT_TYPES.ociBlob);
    await writer.writeInline(head);
    await writer.writeExternal(Buffer.from(objA.id, 'hex'), a.length);
    await writer.writeInline(mid);
    await writer.writeExternal(Buffer.from(objB.id, 'hex'), b.length);
    await repo.streams.commit(await writer.finish(), contentId, `crash/${contentId}`);
  }
  process.stdout.write('done\n');
} finally {
  await repo.close();
}
