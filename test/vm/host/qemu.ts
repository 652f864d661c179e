/**
 * Running qemu: its command line, and a process guard so that no qemu
 * outlives the harness, whether it ends normally, throws, is interrupted
 * or (through the kernel's parent-death signal) is killed outright.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { findExecutable } from './ldd.js';

export interface VmSpec {
  readonly kernel: string;
  readonly initrd: string;
  readonly cmdline: string;
  /** virtio disks in order: vda, vdb, … */
  readonly disks: readonly { readonly path: string; readonly readonly: boolean }[];
  readonly memMiB: number;
  readonly cpus: number;
}

export const QEMU = 'qemu-system-x86_64';

/**
 * The CPU model. cx16=off: the 6.12 backports kernel's SLUB fast path is a
 * cmpxchg16b on %gs, and under Debian 12's qemu 7.2 TCG that left guests
 * crashing within seconds (garbage in EFLAGS: #DB with TF set, double
 * faults, NULL dereferences in the allocator). Without CX16 the kernel
 * takes its locked path and boots reliably.
 */
export const QEMU_CPU = 'max,cx16=off';

/** The qemu command line for `spec`: TCG, no devices but ours, serial console on stdio. */
export function qemuArgs(spec: VmSpec): string[] {
  const args = [
    '-accel', 'tcg',
    '-machine', 'q35',
    '-cpu', QEMU_CPU,
    '-smp', String(spec.cpus),
    '-m', `${spec.memMiB}M`,
    '-nodefaults', '-no-user-config', '-display', 'none',
    '-chardev', 'stdio,id=console,signal=off',
    '-serial', 'chardev:console',
    // A guest panic (panic=-1 reboots at once) or poweroff ends qemu.
    '-no-reboot',
    '-kernel', spec.kernel,
    '-initrd', spec.initrd,
    '-append', spec.cmdline,
    '-device', 'virtio-rng-pci',
  ];
  for (const disk of spec.disks) {
    // cache=unsafe: the images are thrown away after the run, so guest
    // flushes need not reach the host's disk.
    const options = disk.readonly ? 'readonly=on' : 'cache=unsafe';
    args.push('-drive', `file=${disk.path},if=virtio,format=raw,${options}`);
  }
  return args;
}

const live = new Set<ChildProcess>();

/** Kills every qemu this process started; synchronous, so safe in an exit handler. */
export function killAllVms(): void {
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}
process.on('exit', killAllVms);

let pdeathsig: string[] | undefined;

/**
 * `setpriv --pdeathsig KILL` when util-linux has it: the kernel then kills
 * qemu if the harness dies without running any handler (SIGKILL, OOM).
 */
function deathSignalPrefix(): string[] {
  if (pdeathsig) return pdeathsig;
  const setpriv = findExecutable('setpriv');
  const help = setpriv ? spawnSync(setpriv, ['--help'], { encoding: 'utf8' }).stdout : '';
  pdeathsig = setpriv && help.includes('--pdeathsig') ? [setpriv, '--pdeathsig', 'KILL', '--'] : [];
  return pdeathsig;
}

export interface VmExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface RunningVm {
  readonly exited: Promise<VmExit>;
  kill(): void;
}

/** Starts qemu; `onOutput` gets the serial console as it arrives. */
export function startVm(spec: VmSpec, onOutput: (text: string) => void, onError: (text: string) => void): RunningVm {
  const qemu = findExecutable(QEMU) ?? QEMU;
  const [cmd, ...prefix] = [...deathSignalPrefix(), qemu];
  // stdin stays an open pipe: the stdio chardev reads it, and EOF there is not a reason to stop.
  const child = spawn(cmd ?? qemu, [...prefix, ...qemuArgs(spec)], { stdio: ['pipe', 'pipe', 'pipe'] });
  live.add(child);
  child.stdout.setEncoding('utf8').on('data', onOutput);
  child.stderr.setEncoding('utf8').on('data', onError);
  const exited = new Promise<VmExit>((resolve) => {
    child.on('error', (err) => {
      onError(`${QEMU}: ${err.message}\n`);
      live.delete(child);
      resolve({ code: null, signal: null });
    });
    child.on('close', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    });
  });
  return {
    exited,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
