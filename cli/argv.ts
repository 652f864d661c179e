/**
 * Reading a command line: which command it names, then that command's
 * arguments through node's util.parseArgs in strict mode. Pure (no I/O),
 * so every rule is unit-tested:
 *   - before a subcommand's name only the shared repository options may
 *     come (--repo DIR, --user, --system); a value given to them is never
 *     taken for a command name;
 *   - after it, the command's own options and the shared ones, in any
 *     order among the positionals; `--` ends the options;
 *   - unknown options, missing values, values outside an enum, options
 *     given twice (unless `multiple`), empty values, and too few or too
 *     many positionals are UsageErrors saying which.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from '../common/index.js';
import { isGroup, kebab, repositoryArgs, type ArgsDef, type Command, type GroupCommand, type LeafCommand } from './command.js';

export type Found =
  /** Show this command's usage (its `--help`), then exit 0. */
  | { readonly kind: 'help'; readonly cmd: Command; readonly parent: Command | undefined; readonly path: readonly string[] }
  /** A group was named without a subcommand: usage, then exit 2. */
  | { readonly kind: 'incomplete'; readonly cmd: GroupCommand; readonly parent: Command | undefined; readonly path: readonly string[] }
  /** A command to run with `argv` (the shared options found before it first). */
  | { readonly kind: 'command'; readonly cmd: LeafCommand; readonly path: readonly string[]; readonly argv: readonly string[] };

export type Resolved =
  | Exclude<Found, { kind: 'command' }>
  | { readonly kind: 'run'; readonly cmd: LeafCommand; readonly path: readonly string[]; readonly args: Record<string, unknown> };

const SHARED = repositoryArgs as ArgsDef;

function isOption(token: string): boolean {
  return token.startsWith('-') && token !== '-';
}

/** The shared option `token` names (--repo, --repo=DIR, --user, …), if any. */
function sharedOption(token: string): { key: string; takesValue: boolean; inline: boolean } | undefined {
  const body = token.startsWith('--') ? token.slice(2) : undefined;
  if (body === undefined) return undefined;
  const eq = body.indexOf('=');
  const name = eq >= 0 ? body.slice(0, eq) : body;
  const key = Object.keys(SHARED).find((k) => kebab(k) === name);
  const def = key === undefined ? undefined : SHARED[key];
  if (key === undefined || !def) return undefined;
  return { key, takesValue: def.type !== 'boolean', inline: eq >= 0 };
}

/** Finds the command `argv` names and reads its arguments. */
export async function resolveCommandLine(root: GroupCommand, argv: readonly string[]): Promise<Resolved> {
  const found = await findCommand(root, argv);
  return found.kind === 'command' ? { kind: 'run', cmd: found.cmd, path: found.path, args: parseCommandArgs(found.cmd, found.argv) } : found;
}

/** Finds the command `argv` names; its arguments are not read yet. */
export async function findCommand(root: GroupCommand, argv: readonly string[]): Promise<Found> {
  let cmd: Command = root;
  let parent: Command | undefined;
  const path: string[] = [];
  const shared: string[] = [];
  let i = 0;
  while (isGroup(cmd)) {
    const token = argv[i];
    if (token === undefined) return { kind: 'incomplete', cmd, parent, path };
    if (token === '--help' || token === '-h') return { kind: 'help', cmd, parent, path };
    if (token === '--') throw new UsageError(`"--" before a command (see ${['cfskit', ...path].join(' ')} --help)`);
    if (isOption(token)) {
      const option = sharedOption(token);
      if (!option) {
        throw new UsageError(
          `unknown option ${token.split('=')[0]} before the command (only the shared options --repo, --user, --system, --erofs-version, --hash, --no-repo and --insecure may come first; ` +
            `give a command's own options after its name)`,
        );
      }
      shared.push(token);
      if (option.takesValue && !option.inline) {
        const value = argv[i + 1];
        if (value === undefined) throw new UsageError(`option ${token} needs a value`);
        shared.push(value);
        i++;
      }
      i++;
      continue;
    }
    const next: (() => Promise<Command>) | undefined = Object.hasOwn(cmd.subCommands, token) ? cmd.subCommands[token] : undefined;
    if (!next) throw new UsageError(`unknown command "${[...path, token].join(' ')}" (see ${['cfskit', ...path].join(' ')} --help)`);
    parent = cmd;
    cmd = await next();
    path.push(token);
    i++;
  }
  const rest = argv.slice(i);
  const end = rest.indexOf('--');
  if ((end < 0 ? rest : rest.slice(0, end)).some((t) => t === '--help' || t === '-h')) return { kind: 'help', cmd, parent, path };
  return { kind: 'command', cmd, path, argv: [...shared, ...rest] };
}

/** Every argument the leaf takes: its own and the shared ones. */
export function allArgs(cmd: LeafCommand): ArgsDef {
  return { ...cmd.args, ...SHARED };
}

/** The command's own and the shared arguments, as util.parseArgs options keyed by their spelling. */
function parseOptions(args: ArgsDef): { options: NonNullable<ParseArgsConfig['options']>; keyOf: Map<string, string> } {
  const options: NonNullable<ParseArgsConfig['options']> = {};
  const keyOf = new Map<string, string>();
  for (const [key, def] of Object.entries(args)) {
    if (def.type === 'positional') continue;
    const name = kebab(key);
    keyOf.set(name, key);
    const short = def.alias !== undefined && def.alias.length === 1 ? { short: def.alias } : {};
    options[name] = def.type === 'boolean' ? { type: 'boolean', ...short } : { type: 'string', multiple: def.type === 'string' && def.multiple === true, ...short };
  }
  return { options, keyOf };
}

/** The option a util.parseArgs error message names (`'--x <value>'` → `--x`). */
function optionIn(message: string): string {
  return /'(-[^' ]+)/.exec(message)?.[1] ?? 'option';
}

function usageFromParseError(err: unknown): UsageError {
  const e = err as { code?: unknown; message?: unknown };
  const message = typeof e.message === 'string' ? e.message : String(err);
  const option = optionIn(message);
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return new UsageError(`unknown option ${option}`);
  if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    if (message.includes('does not take an argument')) return new UsageError(`option ${option} takes no value`);
    if (message.includes('ambiguous')) return new UsageError(`option ${option} needs a value (to give one that starts with "-", write ${option}=VALUE)`);
    return new UsageError(`option ${option} needs a value`);
  }
  return new UsageError(message);
}

function strictParse(argv: readonly string[], options: NonNullable<ParseArgsConfig['options']>) {
  try {
    return parseArgs({ args: [...argv], options, allowPositionals: true, strict: true, tokens: true, allowNegative: true });
  } catch (err) {
    throw usageFromParseError(err);
  }
}

/**
 * `--x=true` as `--x` and `--x=false` as `--no-x`, for the booleans
 * declared `valued` (before `--` only); any other value stays, and is
 * refused as a value given to a boolean.
 */
function spelledBooleans(argv: readonly string[], defs: ArgsDef, keyOf: ReadonlyMap<string, string>): string[] {
  const end = argv.indexOf('--');
  return argv.map((token, i) => {
    if ((end >= 0 && i > end) || !token.startsWith('--')) return token;
    const m = /^--([^=]+)=(true|false)$/.exec(token);
    const def = m ? defs[keyOf.get(m[1] ?? '') ?? ''] : undefined;
    if (!m || def?.type !== 'boolean' || def.valued !== true) return token;
    return m[2] === 'true' ? `--${m[1]}` : `--no-${m[1]}`;
  });
}

/** Reads `argv` (options and positionals, after the command's name) for `cmd`. */
export function parseCommandArgs(cmd: LeafCommand, argv: readonly string[]): Record<string, unknown> {
  const defs = allArgs(cmd);
  const { options, keyOf } = parseOptions(defs);
  const parsed = strictParse(spelledBooleans(argv, defs, keyOf), options);
  const counts = new Map<string, number>();
  for (const token of parsed.tokens) {
    if (token.kind !== 'option') continue;
    counts.set(token.name, (counts.get(token.name) ?? 0) + 1);
    const def = defs[keyOf.get(token.name) ?? ''];
    if (token.rawName.startsWith('--no-') && def?.type !== 'boolean') throw new UsageError(`unknown option ${token.rawName}`);
  }
  const values: Record<string, unknown> = {};
  for (const [name, key] of keyOf) {
    const def = defs[key] as Exclude<ArgsDef[string], { type: 'positional' }>;
    const given: unknown = parsed.values[name];
    if ((counts.get(name) ?? 0) > 1 && !(def.type === 'string' && def.multiple === true)) {
      throw new UsageError(`option --${name} given more than once`);
    }
    const list = Array.isArray(given) ? (given as string[]) : typeof given === 'string' ? [given] : [];
    if (list.includes('')) throw new UsageError(`option --${name} needs a value${def.valueHint ? ` (${def.valueHint})` : ''}`);
    if (def.type === 'enum' && typeof given === 'string' && !def.options.includes(given)) {
      throw new UsageError(`option --${name} must be one of ${def.options.join(', ')} (got "${given}")`);
    }
    if (def.type === 'boolean') values[key] = typeof given === 'boolean' ? given : (def.default ?? false);
    else if (def.type === 'string' && def.multiple === true) values[key] = list;
    else values[key] = given ?? def.default;
  }
  const positionalDefs = Object.entries(defs).filter(([, d]) => d.type === 'positional');
  const required = positionalDefs.filter(([, d]) => d.type === 'positional' && d.required !== false).length;
  const positionals = parsed.positionals;
  if (positionals.length < required) {
    const names = positionalDefs.map(([key, d]) => d.valueHint ?? key).join(' ');
    throw new UsageError(`missing arguments (expected ${names})`);
  }
  if (!cmd.variadic && positionals.length > positionalDefs.length) {
    throw new UsageError(`too many arguments (expected at most ${positionalDefs.length})`);
  }
  positionalDefs.forEach(([key], n) => {
    values[key] = positionals[n];
  });
  values._ = positionals;
  const terminator = parsed.tokens.find((t) => t.kind === 'option-terminator');
  values['--'] = terminator === undefined ? [] : parsed.tokens.filter((t) => t.kind === 'positional' && t.index > terminator.index).map((t) => (t.kind === 'positional' ? t.value : ''));
  const chosen = (['repo', 'user', 'system'] as const).filter((k) => values[k] !== undefined && values[k] !== false);
  if (chosen.length > 1) throw new UsageError('choose one of --repo, --user and --system');
  return values;
}
