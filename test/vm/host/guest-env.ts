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
