/**
 * Progress in bootc's `--progress-fd` protocol: the event types, tasks
 * that produce them, and the rate-limited JSON Lines writer.
 */
export {
  PROTOCOL_VERSION, canonicalJson,
  type ProtocolEvent, type TaskEvent, type TaskSink, type StartEvent, type ProgressBytesEvent, type ProgressStepsEvent, type SubTaskBytes, type SubTaskStep,
} from './protocol.js';
export { ByteTask, StepTask, TASK_INTERVAL_MS, type TaskIdentity } from './tasks.js';
export { JsonlProgressWriter, parseProgressFd, MIN_INTERVAL_MS } from './jsonl-writer.js';
