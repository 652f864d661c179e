/**
 * The cfskit command line: finds the command (cli/argv.ts), checks its
 * arguments strictly and runs it. Commands load lazily so --help is instant.
 */
import { renderUsage, type ArgsDef as CittyArgs, type CommandDef } from 'citty';
import { UsageError } from '../common/index.js';
import { allArgs, findCommand, parseCommandArgs } from './argv.js';
import { command, isGroup, kebab, type Command, type GroupCommand } from './command.js';
import { EXIT_FAILURE, EXIT_USAGE, exitCodeFor, reportError } from './output.js';
import { VERSION } from './version.js';

export const main: GroupCommand = command({
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
    'compute-karg': () => import('./commands/compute-karg.js').then((m) => m.default),
    images: () => import('./commands/images.js').then((m) => m.default),
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
});

/** citty's view of a command, for its usage text: options spelled as they are typed (kebab-case). */
function forUsage(cmd: Command | undefined): CommandDef | undefined {
  if (!cmd) return undefined;
  if (isGroup(cmd)) return { meta: cmd.meta, subCommands: cmd.subCommands as unknown as CommandDef['subCommands'] };
  const args = Object.fromEntries(Object.entries(allArgs(cmd)).map(([key, def]) => [def.type === 'positional' ? key : kebab(key), def]));
  return { meta: cmd.meta, args: args as unknown as CittyArgs };
}

async function showUsage(cmd: Command, parent: Command | undefined): Promise<void> {
  process.stdout.write(`${await renderUsage(forUsage(cmd) as CommandDef, forUsage(parent))}\n\n`);
}

export async function run(argv: string[]): Promise<number> {
  let label = '';
  try {
    if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
      process.stdout.write(`${VERSION}\n`);
      return 0;
    }
    const resolved = await findCommand(main, argv);
    label = resolved.path.join(' ');
    if (resolved.kind === 'help') {
      await showUsage(resolved.cmd, resolved.parent);
      return 0;
    }
    if (resolved.kind === 'incomplete') {
      await showUsage(resolved.cmd, resolved.parent);
      process.stderr.write(`cfskit: ${resolved.path.length ? `"${label}" needs a subcommand` : 'missing command'}\n`);
      return EXIT_USAGE;
    }
    const args = parseCommandArgs(resolved.cmd, resolved.argv);
    // The values match the command's own declaration, which typed its run().
    const result: unknown = await resolved.cmd.run({ args: args as never });
    return typeof result === 'number' ? result : 0;
  } catch (err) {
    reportError(label, err);
    if (err instanceof UsageError) return EXIT_USAGE;
    return exitCodeFor(err) || EXIT_FAILURE;
  }
}
