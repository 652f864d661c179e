/**
 * bootc's `--progress-fd` protocol (0.1.0) as a JSON Schema, written here
 * from bootc's types (`crates/lib/src/progress_jsonl.rs`: `Event`,
 * `SubTaskBytes`, `SubTaskStep`, serde camelCase, tag "type"), and the
 * checks every progress stream must pass: each line valid, Start first
 * and only first, no counter of a task going back, totals fixed once
 * reported, and every task complete in its last line.
 */
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import Ajv2020 from 'ajv/dist/2020.js';
import { CFSKIT } from './cli.js';

const count = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;
const text = { type: 'string' } as const;

export const PROGRESS_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'bootc progress event (protocol 0.1.0)',
  oneOf: [
    {
      type: 'object',
      properties: { type: { const: 'Start' }, version: text },
      required: ['type', 'version'],
      additionalProperties: false,
    },
    {
      type: 'object',
      properties: {
        type: { const: 'ProgressBytes' },
        task: text,
        description: text,
        id: text,
        bytesCached: count,
        bytes: count,
        bytesTotal: count,
        stepsCached: count,
        steps: count,
        stepsTotal: count,
        subtasks: { type: 'array', items: { $ref: '#/$defs/SubTaskBytes' } },
      },
      required: ['type', 'task', 'description', 'id', 'bytesCached', 'bytes', 'bytesTotal', 'stepsCached', 'steps', 'stepsTotal', 'subtasks'],
      additionalProperties: false,
    },
    {
      type: 'object',
      properties: {
        type: { const: 'ProgressSteps' },
        task: text,
        description: text,
        id: text,
        stepsCached: count,
        steps: count,
        stepsTotal: count,
        subtasks: { type: 'array', items: { $ref: '#/$defs/SubTaskStep' } },
      },
      required: ['type', 'task', 'description', 'id', 'stepsCached', 'steps', 'stepsTotal', 'subtasks'],
      additionalProperties: false,
    },
  ],
  $defs: {
    SubTaskBytes: {
      type: 'object',
      properties: { subtask: text, description: text, id: text, bytesCached: count, bytes: count, bytesTotal: count },
      required: ['subtask', 'description', 'id', 'bytesCached', 'bytes', 'bytesTotal'],
      additionalProperties: false,
    },
    SubTaskStep: {
      type: 'object',
      properties: { subtask: text, description: text, id: text, completed: { type: 'boolean' } },
      required: ['subtask', 'description', 'id', 'completed'],
      additionalProperties: false,
    },
  },
} as const;

const ajv = new Ajv2020.default({ allErrors: true, strict: true });
const validate = ajv.compile(PROGRESS_SCHEMA);

interface SubBytes { id: string; bytesCached: number; bytes: number; bytesTotal: number }
interface SubStep { id: string; completed: boolean }
interface Event {
  type: string;
  task?: string;
  id?: string;
  version?: string;
  bytesCached?: number;
  bytes?: number;
  bytesTotal?: number;
  stepsCached?: number;
  steps?: number;
  stepsTotal?: number;
  subtasks?: (SubBytes & SubStep)[];
}

const COUNTERS = ['bytesCached', 'bytes', 'stepsCached', 'steps'] as const;
const TOTALS = ['bytesTotal', 'stepsTotal'] as const;

/** Every problem with a progress stream (empty when it is right). */
export function progressProblems(lines: readonly string[]): string[] {
  const problems: string[] = [];
  const events: Event[] = [];
  lines.forEach((line, i) => {
    let event: Event;
    try {
      event = JSON.parse(line) as Event;
    } catch {
      problems.push(`line ${i + 1} is not JSON: ${line}`);
      return;
    }
    if (!validate(event)) problems.push(`line ${i + 1} does not match the schema: ${ajv.errorsText(validate.errors)}: ${line}`);
    events.push(event);
  });
  if (events[0]?.type !== 'Start' || events[0].version !== '0.1.0') problems.push('the first line is not {"type":"Start","version":"0.1.0"}');
  if (events.slice(1).some((e) => e.type === 'Start')) problems.push('Start appears after the first line');
  const last = new Map<string, Event>();
  for (const event of events.slice(1)) {
    const key = `${event.type}:${event.task}:${event.id}`;
    const before = last.get(key);
    if (before) {
      for (const c of COUNTERS) if ((event[c] ?? 0) < (before[c] ?? 0)) problems.push(`${key}: ${c} went back from ${before[c]} to ${event[c]}`);
      for (const t of TOTALS) if (event[t] !== before[t]) problems.push(`${key}: ${t} changed from ${before[t]} to ${event[t]}`);
      for (const sub of event.subtasks ?? []) {
        const prev = before.subtasks?.find((s) => s.id === sub.id);
        if (!prev) continue;
        if (event.type === 'ProgressBytes' && (sub.bytes < prev.bytes || sub.bytesTotal !== prev.bytesTotal)) problems.push(`${key}: subtask ${sub.id} went back`);
        if (event.type === 'ProgressSteps' && prev.completed && !sub.completed) problems.push(`${key}: step ${sub.id} was completed, then not`);
      }
    }
    last.set(key, event);
  }
  if (last.size === 0) problems.push('no task was reported');
  for (const [key, event] of last) {
    if (event.type === 'ProgressBytes') {
      if (event.bytes !== event.bytesTotal || event.steps !== event.stepsTotal) problems.push(`${key}: ends at ${event.bytes}/${event.bytesTotal} bytes, ${event.steps}/${event.stepsTotal} steps`);
      for (const s of event.subtasks ?? []) if (s.bytes !== s.bytesTotal) problems.push(`${key}: subtask ${s.id} ends at ${s.bytes}/${s.bytesTotal}`);
    } else if (event.type === 'ProgressSteps') {
      if ((event.steps ?? 0) + (event.stepsCached ?? 0) !== event.stepsTotal) problems.push(`${key}: ends at ${event.steps}+${event.stepsCached}/${event.stepsTotal} steps`);
      for (const s of event.subtasks ?? []) if (!s.completed) problems.push(`${key}: step ${s.id} never completed`);
    }
  }
  return problems;
}

/** The last event of each task in a stream, by `type:task`. */
export function finalEvents(lines: readonly string[]): Map<string, Event> {
  const last = new Map<string, Event>();
  for (const line of lines.slice(1)) {
    const event = JSON.parse(line) as Event;
    last.set(`${event.type}:${event.task}`, event);
  }
  return last;
}

export interface ProgressRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The lines written to fd 3. */
  readonly lines: string[];
  /** From the start of the process to its exit. */
  readonly seconds: number;
}

/** Runs the built CLI with `--progress-fd 3` added, fd 3 a pipe read here. */
export function cfskitWithProgressFd(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<ProgressRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [CFSKIT, ...args, '--progress-fd', '3'], { env, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const progress: Buffer[] = [];
    child.stdout?.on('data', (c: Buffer) => out.push(c));
    child.stderr?.on('data', (c: Buffer) => err.push(c));
    (child.stdio[3] as Readable).on('data', (c: Buffer) => progress.push(c));
    child.on('error', reject);
    child.on('close', (status) => {
      const text = Buffer.concat(progress).toString('utf8');
      resolve({
        status,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        lines: text.split('\n').filter((l) => l !== ''),
        seconds: (performance.now() - started) / 1000,
      });
    });
  });
}
