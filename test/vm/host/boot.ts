/**
 * One guest run: boot qemu, stream its console (boot messages to stderr,
 * the uvu output between the markers to stdout), enforce the time limit,
 * and judge the run from what the guest printed.
 */
import { ConsoleScanner, judge, plain, uvuTotals, type ConsoleLine, type UvuTotals } from './console.js';
import { startVm, type VmExit } from './qemu.js';

export interface BootOptions {
  readonly kernel: string;
  readonly initrd: string;
  readonly system: string;
  readonly scratch: string;
  readonly cpus: number;
  readonly memMiB: number;
  readonly timeoutMs: number;
  /** Appended to the kernel command line (the guest environment). */
  readonly kernelArgs: readonly string[];
  readonly log: (msg: string) => void;
}

export interface BootResult {
  /** Why the run failed; undefined when every guest test passed. */
  readonly failure: string | undefined;
  readonly totals: UvuTotals | undefined;
  /** From starting qemu to the guest's begin marker. */
  readonly bootMs: number;
  /** From the begin marker to the end marker (or to the end of the run). */
  readonly testMs: number;
}

/**
 * quiet: only kernel errors on the console (fs-verity's corruption
 * reports among them). panic=-1: a panic reboots at once, which -no-reboot
 * turns into qemu exiting. mitigations=off: the guest needs no protection
 * from itself, so it spends no emulated cycles on it.
 */
const CMDLINE = 'console=ttyS0 quiet panic=-1 mitigations=off';

/** How long the guest may take to power off after its end marker. */
const POWEROFF_GRACE_MS = 20_000;

export async function bootAndTest(options: BootOptions): Promise<BootResult> {
  const { log } = options;
  const scanner = new ConsoleScanner();
  const started = Date.now();
  let begunAt: number | undefined;
  let endedAt: number | undefined;
  let timedOut = false;
  let graceTimer: NodeJS.Timeout | undefined;

  const show = (line: ConsoleLine): void => {
    switch (line.kind) {
      case 'boot':
      case 'after':
        process.stderr.write(`  guest| ${plain(line.text)}\n`);
        break;
      case 'begin':
        begunAt = Date.now();
        log(`guest tests start (boot took ${((begunAt - started) / 1000).toFixed(1)} s)`);
        break;
      case 'test':
        process.stdout.write(`${line.text}\n`);
        break;
      case 'end':
        endedAt = Date.now();
        log(`guest tests done, uvu status ${line.status}`);
        // The verdict is known; a guest that then fails to power off is killed.
        graceTimer = setTimeout(() => vm.kill(), POWEROFF_GRACE_MS);
        break;
    }
  };

  const vm = startVm(
    {
      kernel: options.kernel,
      initrd: options.initrd,
      cmdline: [CMDLINE, ...options.kernelArgs].join(' '),
      disks: [
        { path: options.system, readonly: true },
        { path: options.scratch, readonly: false },
      ],
      memMiB: options.memMiB,
      cpus: options.cpus,
    },
    (text) => scanner.push(text).forEach(show),
    (text) => process.stderr.write(`  qemu| ${text}`),
  );
  const timer = setTimeout(() => {
    timedOut = true;
    log(`timed out after ${options.timeoutMs / 1000} s; killing qemu`);
    vm.kill();
  }, options.timeoutMs);
  let exit: VmExit;
  try {
    exit = await vm.exited;
  } finally {
    clearTimeout(timer);
    clearTimeout(graceTimer);
    vm.kill();
  }
  scanner.finish().forEach(show);
  const now = Date.now();
  return {
    failure: judge(scanner, exit, timedOut, options.timeoutMs),
    totals: uvuTotals(scanner.testOutput),
    bootMs: (begunAt ?? now) - started,
    testMs: begunAt === undefined ? 0 : (endedAt ?? now) - begunAt,
  };
}
