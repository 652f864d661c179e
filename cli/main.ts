/**
 * The cfskit command line: strips the repository options (accepted before or
 * after the subcommand, as cfsctl does), finds the command, checks its
 * arguments strictly and runs it. Commands load lazily so --help is instant.
 */
import { renderUsage, runCommand, type CommandDef } from 'citty';
import { UsageError } from '../src/errors.js';
import { checkArgs, kebab } from './command.js';
import { extractGlobals, setGlobals } from './globals.js';
import { EXIT_FAILURE, EXIT_USAGE, exitCodeFor, reportError } from './output.js';
import { VERSION } from './version.js';

/**
 * citty's usage text, with options spelled as they are typed: the argument
 * definitions use camelCase keys, the command line kebab-case.
 */
async function showUsage(cmd: CommandDef, parent: CommandDef | undefined): Promise<void> {
  const args = (await (typeof cmd.args === 'function' ? cmd.args() : cmd.args)) ?? {};
  const spelled: CommandDef = { ...cmd, args: Object.fromEntries(Object.entries(args).map(([key, def]) => [def.type === 'positional' ? key : kebab(key), def])) };
  process.stdout.write(`${await renderUsage(spelled, parent)}\n\n`);
}

const main: CommandDef = {
  meta: {
    name: 'cfskit',
    version: VERSION,
    description: 'composefs repositories: digests, zero-copy import from containers-storage, inspection',
  },
  subCommands: {
    digest: () => import('./commands/digest.js').then((m) => m.default),
    measure: () => import('./commands/measure.js').then((m) => m.default),
    init: () => import('./commands/init.js').then((m) => m.default),
    cat: () => import('./commands/cat.js').then((m) => m.default),
    fsck: () => import('./commands/fsck.js').then((m) => m.default),
    'compute-id': () => import('./commands/compute-id.js').then((m) => m.default),
    'create-dumpfile': () => import('./commands/create-dumpfile.js').then((m) => m.default),
    'image-objects': () => import('./commands/image-objects.js').then((m) => m.default),
    'dump-files': () => import('./commands/dump-files.js').then((m) => m.default),
    oci: () => import('./commands/oci.js').then((m) => m.default),
    'create-image': () => import('./commands/create-image.js').then((m) => m.default),
    mount: () => import('./commands/mount.js').then((m) => m.default),
    unmount: () => import('./commands/unmount.js').then((m) => m.default),
    cstor: () => import('./commands/cstor.js').then((m) => m.default),
    gc: () => import('./commands/gc.js').then((m) => m.default),
    transaction: () => import('./commands/transaction.js').then((m) => m.default),
    sysroot: () => import('./commands/sysroot.js').then((m) => m.default),
  },
};

async function resolve(value: CommandDef['subCommands'] | CommandDef['args']): Promise<Record<string, unknown>> {
  const v: unknown = typeof value === 'function' ? await value() : await value;
  return (v ?? {}) as Record<string, unknown>;
}

/** The command `rawArgs` names, its parent and its own arguments. */
async function findCommand(rawArgs: string[]): Promise<{ cmd: CommandDef; parent?: CommandDef; path: string[]; rest: string[] }> {
  let cmd = main;
  let parent: CommandDef | undefined;
  const path: string[] = [];
  let rest = rawArgs;
  for (;;) {
    const subs = await resolve(cmd.subCommands);
    if (Object.keys(subs).length === 0) return { cmd, parent, path, rest };
    const index = rest.findIndex((a) => !a.startsWith('-'));
    const name = index >= 0 ? rest[index] : undefined;
    if (name === undefined) return { cmd, parent, path, rest };
    const next = subs[name];
    if (!next) throw new UsageError(`unknown command "${[...path, name].join(' ')}" (see ${['cfskit', ...path].join(' ')} --help)`);
    parent = cmd;
    cmd = (await (typeof next === 'function' ? (next as () => Promise<CommandDef>)() : next)) as CommandDef;
    path.push(name);
    rest = rest.slice(index + 1);
  }
}

export async function run(argv: string[]): Promise<number> {
  let label = '';
  try {
    const { globals, rest: rawArgs } = extractGlobals(argv);
    setGlobals(globals);
    if (rawArgs.length === 1 && (rawArgs[0] === '--version' || rawArgs[0] === '-V')) {
      process.stdout.write(`${VERSION}\n`);
      return 0;
    }
    const { cmd, parent, path, rest } = await findCommand(rawArgs);
    label = path.join(' ');
    const dashdash = rawArgs.indexOf('--');
    const options = dashdash >= 0 ? rawArgs.slice(0, dashdash) : rawArgs;
    if (options.includes('--help') || options.includes('-h')) {
      await showUsage(cmd, parent);
      return 0;
    }
    if (Object.keys(await resolve(cmd.subCommands)).length > 0) {
      await showUsage(cmd, parent);
      process.stderr.write(`cfskit: ${path.length ? `"${label}" needs a subcommand` : 'missing command'}\n`);
      return EXIT_USAGE;
    }
    await checkArgs(cmd, rest);
    const result: unknown = (await runCommand(cmd, { rawArgs: rest })).result;
    return typeof result === 'number' ? result : 0;
  } catch (err) {
    reportError(label, err);
    if (err instanceof UsageError) return EXIT_USAGE;
    return exitCodeFor(err) || EXIT_FAILURE;
  }
}
