/**
 * Loading the native addon. Where it cannot load (not Linux, not built, no
 * compiler) everything pure keeps working; the first caller that needs a
 * system call gets a HostUnavailableError, and one warning is printed.
 * CFSKIT_DISABLE_ADDON=1 makes it unavailable on purpose, exactly as on a
 * platform without it (the test suites run that way too).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { CfskitError, HostUnavailableError, SystemError, errnoOf } from '../common/index.js';

export type PathArg = string | Buffer;
export type Target = PathArg | number;

/** The addon's functions, as src/*.cc registers them. */
export interface NativeHost {
  measureVerity(target: Target): Promise<{ algorithm: number; digest: Buffer }>;
  enableVerity(target: Target, algorithm: number, blockSize: number): Promise<void>;
}

const addonPath =
  process.env.CFSKIT_HOST_ADDON ??
  fileURLToPath(new URL('../../host-bindings/build/Release/cfskit_host.node', import.meta.url));

type Loaded = { ok: true; host: NativeHost } | { ok: false; reason: string };
let loaded: Loaded | undefined;
let warned = false;

function load(): Loaded {
  if (loaded) return loaded;
  if (process.env.CFSKIT_DISABLE_ADDON === '1') {
    loaded = { ok: false, reason: 'disabled by CFSKIT_DISABLE_ADDON=1' };
  } else if (process.platform !== 'linux') {
    loaded = { ok: false, reason: `${process.platform} has no Linux system calls` };
  } else if (!existsSync(addonPath)) {
    loaded = { ok: false, reason: `${addonPath} is not built (run: npm run build)` };
  } else {
    try {
      loaded = { ok: true, host: createRequire(import.meta.url)(addonPath) as NativeHost };
    } catch (err) {
      loaded = { ok: false, reason: `${addonPath} did not load: ${err instanceof Error ? err.message : String(err)}` };
    }
  }
  return loaded;
}

export function hostAvailability(): { available: true } | { available: false; reason: string } {
  const l = load();
  return l.ok ? { available: true } : { available: false, reason: l.reason };
}

/** The addon, or a HostUnavailableError for `feature` (warned about once). */
export function nativeHost(feature: string): NativeHost {
  const l = load();
  if (l.ok) return l.host;
  if (!warned) {
    warned = true;
    process.emitWarning(`native host bindings unavailable (${l.reason}); system-call features are disabled`, {
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
