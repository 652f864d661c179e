/** What the host tells the guest tests: the environment of the uvu run in the guest. */

/** The uvu file pattern: every .vmtest.js, or those whose path matches `filter`. */
export function guestPattern(filter: string | undefined): string {
  return filter ? `^(?=.*(?:${filter})).*\\.vmtest\\.js$` : '\\.vmtest\\.js$';
}

export interface GuestRun {
  /** Picks test files by path (a regular expression); all when undefined. */
  readonly filter: string | undefined;
  readonly seed: string;
  /** The host's CI variable, so the guest tests follow the same rules. */
  readonly ci: string | undefined;
}

export function guestEnv(run: GuestRun): Record<string, string> {
  const env: Record<string, string> = { CFSKIT_TEST_SEED: run.seed, CFSKIT_VM_PATTERN: guestPattern(run.filter) };
  if (run.ci !== undefined) env.CI = run.ci;
  return env;
}

/** `export KEY='value'` lines for the guest's shell to source. */
export function envFile(env: Readonly<Record<string, string>>): string {
  return Object.entries(env)
    .map(([key, value]) => {
      if (!/^[A-Z_][A-Z0-9_]*$/.test(key)) throw new Error(`not an environment variable name: ${key}`);
      return `export ${key}='${value.replace(/'/g, `'\\''`)}'\n`;
    })
    .join('');
}

/** The kernel's command line holds at most 2048 bytes; leave room for the rest. */
const MAX_ARG = 1536;

/**
 * The environment as one kernel argument, `cfskit.env=<base64 of the env
 * file>`, which stage 2 reads from /proc/cmdline. Through the command line
 * rather than a file so the system image does not change from run to run.
 */
export function envKernelArg(env: Readonly<Record<string, string>>): string {
  const arg = `cfskit.env=${Buffer.from(envFile(env)).toString('base64')}`;
  if (arg.length > MAX_ARG) throw new Error(`the guest environment is too long for the kernel command line (${arg.length} bytes)`);
  return arg;
}
