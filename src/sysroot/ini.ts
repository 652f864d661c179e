/**
 * The INI dialect bootc reads its origin files and bound-image files with
 * (the `tini` crate): `[section]` lines, `key = value` lines (both sides
 * trimmed), comments from `;` or `#` to the end of the line, values taken
 * as written (no quote removal, no type guessing), and any other line an
 * error. Parsed by ini-simple-parser, which follows those rules.
 */
import parse from 'ini-simple-parser';
import { InputError } from '../../common/index.js';

export type IniSection = ReadonlyMap<string, string>;
export type IniDocument = ReadonlyMap<string, IniSection>;

/** Origin and unit files are a few hundred bytes; more is not one. */
export const MAX_INI_BYTES = 64 * 1024;

/** Parses `bytes` (UTF-8); `name` (a path) names it in errors. */
export function parseIni(bytes: Uint8Array, name: string): IniDocument {
  if (bytes.length > MAX_INI_BYTES) throw new InputError(name, `is ${bytes.length} bytes, more than ${MAX_INI_BYTES}: not an INI file`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new InputError(name, 'is not valid UTF-8');
  }
  if (text.includes('\0')) throw new InputError(name, 'contains a NUL byte: not an INI file');
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(text, { inlineComments: true });
  } catch (err) {
    throw new InputError(name, `is not valid INI: ${err instanceof Error ? err.message : String(err)}`);
  }
  const sections = new Map<string, IniSection>();
  // Own properties only: a "[__proto__]" line cannot smuggle anything in.
  for (const [section, body] of Object.entries(parsed)) {
    if (body === null || typeof body !== 'object') continue; // a key before any section
    const keys = new Map<string, string>();
    for (const [key, value] of Object.entries(body)) if (typeof value === 'string') keys.set(key, value);
    sections.set(section, keys);
  }
  return sections;
}

/** `[section] key`, or undefined. */
export function iniValue(doc: IniDocument, section: string, key: string): string | undefined {
  return doc.get(section)?.get(key);
}
