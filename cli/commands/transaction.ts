import { spawn } from 'node:child_process';
import { realpath } from 'node:fs/promises';
import { constants } from 'node:os';
import { NotFoundError, UsageError, isErrno, systemError } from '../../common/index.js';
import { TRANSACTION_ENV } from '../../src/gc/index.js';
import { command } from '../command.js';
import { withRepository } from '../repo.js';

const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** Runs `argv` to its end, passing on the signals a terminal or service manager sends; resolves to its exit status. */
function runChild(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [file, ...rest] = argv;
  if (file === undefined) throw new UsageError('transaction: missing command after --');
  return new Promise((resolve, reject) => {
    const child = spawn(file, rest, { stdio: 'inherit', env });
    const forward = (signal: NodeJS.Signals): void => {
      child.kill(signal);
    };
    for (const s of FORWARDED) process.on(s, forward);
    const cleanup = (): void => {
      for (const s of FORWARDED) process.off(s, forward);
    };
    child.on('error', (err) => {
      cleanup();
      reject(isErrno(err, 'ENOENT') ? new NotFoundError(file, 'command not found') : systemError(err, file, 'spawn'));
    });
    child.on('exit', (code, signal) => {
      cleanup();
      resolve(code ?? 128 + (signal ? constants.signals[signal] : 0));
    });
  });
}

/** Without a command, as cfsctl: hold the lock until interrupted. */
function waitForSignal(): Promise<number> {
  return new Promise((resolve) => {
    const done = (): void => {
      for (const s of FORWARDED) process.off(s, done);
      resolve(0);
    };
    for (const s of FORWARDED) process.on(s, done);
  });
}

export default command(
  {
    meta: { name: 'transaction', description: 'Hold the repository\'s shared lock (no gc can run) while a command runs: transaction -- CMD ARGS…' },
    args: { command: { type: 'positional', required: false, valueHint: '-- CMD ARGS…', description: 'command to run under the lock (default: wait for Ctrl-C)' } },
    async run({ args }) {
      const argv = args['--'];
      if (args._.length > argv.length) throw new UsageError('put -- before the command: cfskit transaction -- CMD ARGS…');
      return withRepository(args, {}, async (repo) => {
        const env = { ...process.env, [TRANSACTION_ENV]: await realpath(repo.path) };
        if (argv.length > 0) return runChild(argv, env);
        process.stderr.write(`holding ${repo.path} (shared lock: garbage collection waits); Ctrl-C releases it\n`);
        return waitForSignal();
      });
    },
  },
  { variadic: true },
);
