/**
 * Reading the guest's serial console. The guest prints its uvu run between
 * two marker lines; only what is between them counts as test output, so a
 * kernel message or a boot log can never be taken for a test total.
 */

export const BEGIN_MARKER = '@@cfskit-vm:begin@@';
/** Followed by ` status=N` (uvu's exit status) and `@@`. */
export const END_MARKER = '@@cfskit-vm:end';

export type ConsoleLine =
  | { readonly kind: 'boot'; readonly text: string }
  | { readonly kind: 'begin' }
  | { readonly kind: 'test'; readonly text: string }
  | { readonly kind: 'end'; readonly status: number }
  | { readonly kind: 'after'; readonly text: string };

// Terminal escapes: CSI and OSC sequences, and two-byte ones such as the
// `ESC c` (reset) the firmware prints.
const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\x1b[@-Z\\-_c]/g;

/** A console line without terminal escapes and carriage returns. */
export function plain(line: string): string {
  return line.replace(ANSI, '').replace(/\r/g, '');
}

/** Splits a stream of console text into classified lines, in order. */
export class ConsoleScanner {
  private partial = '';
  private state: 'boot' | 'test' | 'after' = 'boot';
  private status: number | undefined;
  private readonly testLines: string[] = [];

  /** Whether the begin marker has been seen. */
  get begun(): boolean {
    return this.state !== 'boot';
  }

  /** uvu's exit status from the end marker, if it has been seen. */
  get endStatus(): number | undefined {
    return this.status;
  }

  /** The lines between the markers, escapes removed. */
  get testOutput(): readonly string[] {
    return this.testLines;
  }

  /** Feeds console text; returns the lines it completed. */
  push(chunk: string): ConsoleLine[] {
    const parts = (this.partial + chunk).split('\n');
    this.partial = parts.pop() ?? '';
    return parts.map((raw) => this.classify(raw));
  }

  /** The last line if the stream ended without a newline. */
  finish(): ConsoleLine[] {
    if (this.partial === '') return [];
    const raw = this.partial;
    this.partial = '';
    return [this.classify(raw)];
  }

  private classify(raw: string): ConsoleLine {
    const text = raw.replace(/\r$/, '');
    const bare = plain(text).trim();
    if (this.state === 'boot' && bare === BEGIN_MARKER) {
      this.state = 'test';
      return { kind: 'begin' };
    }
    if (this.state === 'test') {
      const end = /^@@cfskit-vm:end status=(\d+)@@$/.exec(bare);
      if (end) {
        this.state = 'after';
        this.status = Number(end[1]);
        return { kind: 'end', status: this.status };
      }
      this.testLines.push(plain(text));
      return { kind: 'test', text };
    }
    return { kind: this.state, text };
  }
}

export interface UvuTotals {
  readonly total: number;
  readonly passed: number;
  readonly skipped: number;
}

/**
 * uvu's closing totals from the test output. One uvu process prints them
 * once; anything else (none, or two sets) is reported as undefined.
 */
export function uvuTotals(lines: readonly string[]): UvuTotals | undefined {
  const find = (label: string): number[] =>
    lines.flatMap((line) => {
      const m = new RegExp(`^\\s*${label}:\\s+(\\d+)\\s*$`).exec(plain(line));
      return m ? [Number(m[1])] : [];
    });
  const total = find('Total');
  const passed = find('Passed');
  const skipped = find('Skipped');
  if (total.length !== 1 || passed.length !== 1) return undefined;
  return { total: total[0] ?? 0, passed: passed[0] ?? 0, skipped: skipped[0] ?? 0 };
}

/** How qemu ended: its exit code, or the signal that killed it. */
export interface QemuEnd {
  readonly code: number | null;
  readonly signal: string | null;
}

/** Why a finished run failed, from what the scanner saw; undefined if it passed. */
export function judge(scanner: ConsoleScanner, exit: QemuEnd, timedOut: boolean, timeoutMs: number): string | undefined {
  const totals = uvuTotals(scanner.testOutput);
  if (timedOut && scanner.endStatus === undefined) return `timed out after ${timeoutMs / 1000} s`;
  if (!scanner.begun) return `the guest stopped before the tests began (qemu exit ${exit.code ?? exit.signal})`;
  if (scanner.endStatus === undefined) return `the guest stopped while the tests ran (qemu exit ${exit.code ?? exit.signal})`;
  if (!totals) return 'the guest printed no uvu totals';
  if (scanner.endStatus !== 0) return `uvu exited with status ${scanner.endStatus} in the guest`;
  if (totals.total === 0) return 'the guest ran no tests';
  if (totals.passed + totals.skipped !== totals.total) return `${totals.total - totals.passed - totals.skipped} guest tests failed`;
  return undefined;
}
