/**
 * `command()` defines a cfskit command: a citty command whose arguments are
 * checked strictly before it runs (unknown options, missing values, values
 * outside an enum and surplus positionals are usage errors), since citty
 * itself accepts anything.
 */
import { defineCommand, type ArgsDef, type CommandDef } from 'citty';
import { UsageError } from '../src/errors.js';

export interface CommandShape {
  /** The last positional takes any number of values (FILE...). */
  variadic?: boolean;
}

const shapes = new WeakMap<object, CommandShape>();

export const kebab = (name: string): string => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

export function command<const T extends ArgsDef>(def: CommandDef<T>, shape: CommandShape = {}): CommandDef<T> {
  const cmd = defineCommand(def);
  shapes.set(cmd, shape);
  return cmd;
}

function lookup(args: ArgsDef, name: string): [string, ArgsDef[string]] | undefined {
  for (const [key, def] of Object.entries(args)) {
    if (def.type === 'positional' || !('alias' in def)) {
      if (key === name || kebab(key) === name) return def.type === 'positional' ? undefined : [key, def];
      continue;
    }
    const aliases = def.alias === undefined ? [] : Array.isArray(def.alias) ? def.alias : [def.alias];
    if (key === name || kebab(key) === name || aliases.includes(name)) return [key, def];
  }
  return undefined;
}

/** Throws a UsageError for anything in `rawArgs` the command does not declare. */
export async function checkArgs(cmd: CommandDef, rawArgs: readonly string[]): Promise<void> {
  const args: ArgsDef = (await (typeof cmd.args === 'function' ? cmd.args() : cmd.args)) ?? {};
  const positionals = Object.values(args).filter((a) => a.type === 'positional');
  const variadic = shapes.get(cmd)?.variadic === true;
  let seen = 0;
  for (let i = 0; i < rawArgs.length; i++) {
    const token = rawArgs[i] ?? '';
    if (token === '--') {
      seen += rawArgs.length - i - 1;
      break;
    }
    if (token.startsWith('-') && token !== '-') {
      const long = token.startsWith('--');
      const body = token.slice(long ? 2 : 1);
      const eq = body.indexOf('=');
      let name = eq >= 0 ? body.slice(0, eq) : body;
      let found = lookup(args, name);
      if (!found && long && name.startsWith('no-')) {
        const positive = lookup(args, name.slice(3));
        if (positive?.[1].type === 'boolean') found = positive;
        name = name.slice(3);
      }
      if (!found) throw new UsageError(`unknown option ${token.split('=')[0]}`);
      const [, def] = found;
      if (def.type === 'boolean') {
        // `--tls-verify=false`, as skopeo and podman spell it.
        const value = eq >= 0 ? body.slice(eq + 1) : undefined;
        if (value !== undefined && value !== 'true' && value !== 'false') throw new UsageError(`option --${name} takes no value but =true or =false`);
        continue;
      }
      let value = eq >= 0 ? body.slice(eq + 1) : undefined;
      if (value === undefined) {
        value = rawArgs[i + 1];
        if (value === undefined) throw new UsageError(`option --${name} needs a value`);
        i++;
      }
      if (def.type === 'enum' && def.options && !def.options.includes(value)) {
        throw new UsageError(`option --${name} must be one of ${def.options.join(', ')} (got "${value}")`);
      }
      continue;
    }
    seen++;
  }
  const required = positionals.filter((p) => p.required !== false).length;
  if (seen < required) {
    const names = positionals.map((p) => p.valueHint ?? p.description ?? 'ARG').join(' ');
    throw new UsageError(`missing arguments (expected ${names})`);
  }
  if (!variadic && seen > positionals.length) {
    throw new UsageError(`too many arguments (expected at most ${positionals.length})`);
  }
}

/** Positional values after the declared ones (for variadic commands). */
export function restArgs(args: { _: string[] }): string[] {
  return args._;
}

/**
 * Every value given for the string option `key`, in order: for options
 * that may repeat (`--additional-image-store A --additional-image-store B`),
 * since citty keeps only the last. Tokens are read as checkArgs reads them,
 * so the values of other options and anything after `--` are skipped.
 */
export function optionValues(args: ArgsDef, rawArgs: readonly string[], key: string): string[] {
  const values: string[] = [];
  for (let i = 0; i < rawArgs.length; i++) {
    const token = rawArgs[i] ?? '';
    if (token === '--') break;
    if (!token.startsWith('-') || token === '-') continue;
    const body = token.slice(token.startsWith('--') ? 2 : 1);
    const eq = body.indexOf('=');
    const found = lookup(args, eq >= 0 ? body.slice(0, eq) : body);
    if (!found || found[1].type === 'boolean') continue;
    const value = eq >= 0 ? body.slice(eq + 1) : rawArgs[++i];
    if (found[0] === key && value !== undefined) values.push(value);
  }
  return values;
}
