/**
 * Loading the native addon. Where it cannot load (not Linux, not built, no
 * compiler) everything pure keeps working; the first caller that needs a
 * system call gets a HostUnavailableError, and one warning is printed.
 * CFSKIT_DISABLE_ADDON=1 makes it unavailable on purpose, exactly as on a
 * platform without it (the test suites run that way too).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch, platform } from 'node:os';
import { fileURLToPath } from 'node:url';
import { CfskitError, HostUnavailableError, SystemError, errnoOf } from '../common/index.js';

export type PathArg = string | Buffer;
export type Target = PathArg | number;

/** The addon's functions, as src/*.cc registers them. */
export interface NativeHost {
  measureVerity(target: Target): Promise<{ algorithm: number; digest: Buffer }>;
  enableVerity(target: Target, algorithm: number, blockSize: number): Promise<void>;
}

const require = createRequire(import.meta.url);
/** node-gyp-build: build/Release (a checkout's or an install's own build) first, then prebuilds/<platform>-<arch>/. */
const nodeGypBuild = require('node-gyp-build') as (dir: string) => unknown;
/** host-bindings/ of the checkout or package, beside dist/. */
const addonDir = fileURLToPath(new URL('../../host-bindings', import.meta.url));

type Loaded = { ok: true; host: NativeHost } | { ok: false; reason: string };
let loaded: Loaded | undefined;
let warned = false;

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';

function load(): Loaded {
  if (loaded) return loaded;
  const explicit = process.env.CFSKIT_HOST_ADDON;
  if (process.env.CFSKIT_DISABLE_ADDON === '1') {
    loaded = { ok: false, reason: 'disabled by CFSKIT_DISABLE_ADDON=1' };
  } else if (process.platform !== 'linux') {
    loaded = { ok: false, reason: `${process.platform} has no Linux system calls` };
  } else if (explicit !== undefined && !existsSync(explicit)) {
    loaded = { ok: false, reason: `CFSKIT_HOST_ADDON names ${explicit}, which does not exist` };
  } else {
    try {
      const host = explicit !== undefined ? require(explicit) : nodeGypBuild(addonDir);
      loaded = { ok: true, host: host as NativeHost };
    } catch (err) {
      // node-gyp-build's "No native build was found for platform=… arch=…" is
      // already one line's worth; a dlopen failure names the file.
      const what = explicit ?? `the addon for ${platform()}-${arch()}`;
      loaded = { ok: false, reason: `${what} did not load: ${message(err)}` };
    }
  }
  return loaded;
}

export function hostAvailability(): { available: true } | { available: false; reason: string } {
  const l = load();
  return l.ok ? { available: true } : { available: false, reason: l.reason };
}

const STILL_WORKS =
  'Without the system-call addon, digests, images, dumpfiles, archives and insecure repositories still work; ' +
  'fs-verity, mounts, locks, gc and zero-copy imports do not.';
const TO_BUILD = 'To build the addon: `npm rebuild cfskit` with python3, make and a C++ compiler installed.';

/** The addon, or a HostUnavailableError for `feature` (warned about once). */
export function nativeHost(feature: string): NativeHost {
  const l = load();
  if (l.ok) return l.host;
  if (!warned) {
    warned = true;
    process.emitWarning(`${l.reason}. ${STILL_WORKS}${process.platform === 'linux' && !l.reason.startsWith('disabled') ? ` ${TO_BUILD}` : ''}`, {
      code: 'CFSKIT_NO_HOST',
    });
  }
  throw new HostUnavailableError(feature, l.reason);
}

interface NativeError {
  code?: unknown;
  syscall?: unknown;
  path?: unknown;
  message?: unknown;
}

/** Turns an addon rejection into a SystemError naming `name`. */
export function toSystemError(err: unknown, name: string): CfskitError {
  if (err instanceof CfskitError) return err;
  const e = (err ?? {}) as NativeError;
  const syscall = typeof e.syscall === 'string' ? e.syscall : 'syscall';
  const message = typeof e.message === 'string' ? e.message.replace(/^[^:]*: /, '') : String(err);
  return new SystemError(errnoOf(err) ?? 'EIO', syscall, name, message);
}
