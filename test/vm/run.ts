/**
 * The VM suite's host side: boots Debian's cloud kernel (which has
 * fs-verity) under qemu and runs test/vm/*.vmtest.ts inside it, on an ext4
 * scratch disk with the verity feature. Prints the guest's uvu output (the
 * test runner reads its totals), exits non-zero if the guest failed, timed
 * out or printed no totals.
 *
 *   node dist/test/vm/run.js [PATTERN]    PATTERN picks guest test files by name
 *
 * Environment: CFSKIT_VM_TIMEOUT (seconds, default 900), CFSKIT_VM_CPUS
 * (default 2), CFSKIT_VM_MEM_MIB (default 2048), CFSKIT_TEST_SEED (passed to
 * the guest; one is chosen and printed if unset), CI.
 */
import { bootAndTest } from './host/boot.js';
import { envKernelArg, guestEnv } from './host/guest-env.js';
import { prepareInitramfs } from './host/initramfs.js';
import { prepareKernel } from './host/kernel.js';
import { CACHE_DIR } from './host/paths.js';
import { missingPrerequisites } from './host/prereq.js';
import { killAllVms } from './host/qemu.js';
import { buildScratchImage, prepareSystemImage, sizeMiB } from './host/rootfs.js';
import { makeRunTemp, removeRunTemps } from './host/temps.js';

const log = (msg: string): void => void process.stderr.write(`vm: ${msg}\n`);
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

function numberFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number (got "${raw}")`);
  return n;
}

/** Stops qemu and removes temp files; synchronous, for signal handlers too. */
function cleanUp(): void {
  killAllVms();
  removeRunTemps();
}

for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping the VM`);
    cleanUp();
    process.exit(code);
  });
}

async function main(): Promise<number> {
  const missing = missingPrerequisites();
  if (missing.length > 0) {
    if (process.env.CI === 'true') {
      log(`prerequisite missing under CI=true: ${missing.join('; ')}`);
      return 1;
    }
    log(`skipped: ${missing.join('; ')}`);
    return 0;
  }
  const started = Date.now();
  const timeoutMs = numberFromEnv('CFSKIT_VM_TIMEOUT', 900) * 1000;
  const seed = process.env.CFSKIT_TEST_SEED ?? String(Date.now() % 100000);
  const env = guestEnv({ filter: process.argv[2], seed, ci: process.env.CI });

  const kernel = await prepareKernel(CACHE_DIR, log);
  const initrd = await prepareInitramfs(kernel, log);
  const system = await prepareSystemImage(CACHE_DIR, log);
  const work = await makeRunTemp();
  try {
    const scratch = await buildScratchImage(work, 1024);
    const prepared = Date.now();
    log(`kernel ${kernel.pkg.name} ${kernel.pkg.version}; system image ${await sizeMiB(system)} MiB; CFSKIT_TEST_SEED=${seed}; ready in ${seconds(prepared - started)}`);
    const result = await bootAndTest({
      kernel: kernel.vmlinuz,
      initrd,
      system,
      scratch,
      cpus: numberFromEnv('CFSKIT_VM_CPUS', 2),
      memMiB: numberFromEnv('CFSKIT_VM_MEM_MIB', 2048),
      timeoutMs,
      kernelArgs: [envKernelArg(env)],
      log,
    });
    const times = `prepare ${seconds(prepared - started)}, boot ${seconds(result.bootMs)}, tests ${seconds(result.testMs)}, total ${seconds(Date.now() - started)}`;
    if (result.failure) {
      log(`FAILED: ${result.failure} (${times})`);
      return 1;
    }
    log(`guest tests ok (${times})`);
    return 0;
  } finally {
    cleanUp();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    log(`error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    cleanUp();
    process.exit(1);
  },
);
