/**
 * How a cfskit command is defined:
 *
 *   export default command({
 *     meta: { name: 'fsck', description: '…' },
 *     args: { json: { type: 'boolean', description: 'print JSON' } },
 *     async run({ args }) {
 *       await withRepository(args, {}, (repo) => …);   // --repo/--user/--system
 *     },
 *   });
 *
 * `args` declares the command's own options and positionals; the shared
 * options (`repositoryArgs`: --repo, --user, --system, and cfsctl's other
 * globals --erofs-version, --hash, --no-repo, --insecure) are added
 * to every command, so `args.repo` is always there, typed, and accepted
 * before or after the subcommand. Parsing is node's util.parseArgs in
 * strict mode (cli/parse.ts); `run` gets the values typed from this very
 * declaration, keyed in camelCase (`--storage-root` → `args.storageRoot`).
 * A string option with `multiple: true` may repeat and arrives as string[];
 * any other option given twice is a usage error.
 */
import type { CommandMeta } from 'citty';

interface Described {
  readonly description?: string;
  readonly valueHint?: string;
}

interface Short {
  /** A one-letter short form (`-n` for `--dry-run`). */
  readonly alias?: string;
}

export interface PositionalArgDef extends Described {
  readonly type: 'positional';
  /** Default true. */
  readonly required?: boolean;
}

export interface StringArgDef extends Described, Short {
  readonly type: 'string';
  readonly default?: string;
  /** May be given more than once; the values arrive in order as string[]. */
  readonly multiple?: boolean;
}

export interface BooleanArgDef extends Described, Short {
  readonly type: 'boolean';
  /** `--no-<name>` turns a true default off. */
  readonly default?: boolean;
  /** Also `--<name>=true` and `--<name>=false`, as podman and skopeo spell their booleans. */
  readonly valued?: boolean;
}

export interface EnumArgDef extends Described, Short {
  readonly type: 'enum';
  readonly options: readonly string[];
  readonly default?: string;
}

export type ArgDef = PositionalArgDef | StringArgDef | BooleanArgDef | EnumArgDef;
export type ArgsDef = Readonly<Record<string, ArgDef>>;

/** The repository options every command takes, declared once. */
export const repositoryArgs = {
  repo: { type: 'string', valueHint: 'DIR', description: 'the repository (default: /sysroot/composefs as root, ~/.var/lib/composefs otherwise)' },
  user: { type: 'boolean', description: 'the user repository, ~/.var/lib/composefs' },
  system: { type: 'boolean', description: 'the system repository, /sysroot/composefs' },
  // cfsctl's global options (it takes them before the subcommand; cfskit before or after it).
  erofsVersion: {
    type: 'enum',
    options: ['0', '1', '2'],
    valueHint: 'N',
    description: "EROFS format of the images made (default: the repository's meta.json, else 1)",
  },
  hash: { type: 'enum', options: ['sha256', 'sha512'], description: "digest of a command that needs no repository (default: the --repo repository's, else sha512)" },
  noRepo: { type: 'boolean', description: 'do not open a repository (compute-id, compute-karg, create-dumpfile)' },
  insecure: { type: 'boolean', description: 'init: do not require fs-verity; compute-karg: verity optional ("?"), as cfsctl\'s global --insecure' },
} as const satisfies ArgsDef;

export type RepositoryArgs = typeof repositoryArgs;

type ParsedArg<A extends ArgDef> = A extends PositionalArgDef
  ? A extends { required: false }
    ? string | undefined
    : string
  : A extends BooleanArgDef
    ? boolean
    : A extends StringArgDef
      ? A extends { multiple: true }
        ? string[]
        : A extends { default: string }
          ? string
          : string | undefined
      : A extends EnumArgDef
        ? A extends { default: string }
          ? A['options'][number]
          : A['options'][number] | undefined
        : never;

/**
 * The values `run` gets: one per declared argument; `_`, every positional
 * in order; `'--'`, those given after `--` (a command line to pass on).
 */
export type ParsedArgs<T extends ArgsDef> = { readonly [K in keyof T]: ParsedArg<T[K]> } & {
  readonly _: readonly string[];
  readonly '--': readonly string[];
};

export interface CommandContext<T extends ArgsDef> {
  readonly args: ParsedArgs<T & RepositoryArgs>;
}

export interface CommandShape {
  /** The last positional takes any number of values (FILE...). */
  readonly variadic?: boolean;
}

/** A command that runs; its result is the exit status (default 0). */
export interface LeafCommand<T extends ArgsDef = ArgsDef> {
  readonly meta: CommandMeta;
  readonly args: T;
  readonly variadic: boolean;
  run(context: CommandContext<T>): unknown;
}

/** A command made of subcommands, each loaded when named (so --help is instant). */
export interface GroupCommand {
  readonly meta: CommandMeta;
  readonly subCommands: Readonly<Record<string, () => Promise<Command>>>;
}

export type Command = LeafCommand | GroupCommand;

export function isGroup(cmd: Command): cmd is GroupCommand {
  return 'subCommands' in cmd;
}

/** Defines a command that runs, or (given `subCommands`) a group of them. */
export function command(def: GroupCommand): GroupCommand;
export function command<const T extends ArgsDef>(
  def: { readonly meta: CommandMeta; readonly args?: T; run(context: CommandContext<T>): unknown },
  shape?: CommandShape,
): LeafCommand;
export function command(
  def: GroupCommand | { readonly meta: CommandMeta; readonly args?: ArgsDef; run(context: CommandContext<ArgsDef>): unknown },
  shape: CommandShape = {},
): Command {
  if ('subCommands' in def) return def;
  // The context's type is the declaration's own; stored, commands are all alike.
  return { meta: def.meta, args: def.args ?? {}, variadic: shape.variadic === true, run: def.run as LeafCommand['run'] };
}

export const kebab = (name: string): string => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** Positional values after the declared ones (for variadic commands). */
export function restArgs(args: { readonly _: readonly string[] }): string[] {
  return [...args._];
}
