/** A worker for the pool's tests: echoes, waits, throws cfskit errors, exits, answers what cannot be sent. */
import { threadId } from 'node:worker_threads';
import { setTimeout as sleep } from 'node:timers/promises';
import { IntegrityError } from '../../common/index.js';
import { serve } from '../../src/workers/index.js';

export type TestRequest =
  | { op: 'echo'; value: unknown }
  | { op: 'sleep'; ms: number }
  | { op: 'throw' }
  | { op: 'exit' }
  | { op: 'unsendable' }
  | { op: 'bytes'; data: Uint8Array };

serve(async (req: TestRequest): Promise<unknown> => {
  switch (req.op) {
    case 'echo':
      return req.value;
    case 'sleep':
      await sleep(req.ms);
      return threadId;
    case 'throw':
      throw new IntegrityError('objects/ab/cd', 'content digest is 00');
    case 'exit':
      process.exit(3);
      break;
    case 'unsendable':
      // A function cannot be cloned to the other thread.
      return { answer: () => 42 };
    case 'bytes':
      return req.data.byteLength;
  }
  return undefined;
});
