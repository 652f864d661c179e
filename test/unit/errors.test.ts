/**
 * The error classes: each one crosses a worker-thread boundary (structured
 * cloning, as postMessage does) and comes back as the same class with the
 * same code, message and fields; the table of classes is all of them.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as common from '../../common/index.js';
import { CfskitError, ERROR_CLASSES, reviveError, serializeError } from '../../common/index.js';

/** One instance of every class, built as its throwers build it. */
const samples: CfskitError[] = [
  new common.CfskitError('system', 'x: failed'),
  new common.UsageError('option --x needs a value'),
  new common.InputError('layer sha256:ab', 'tar is truncated at byte 512'),
  new common.LimitError('image.erofs', 'more than 1000000 inodes'),
  new common.NotFoundError('streams/x', 'does not exist'),
  new common.IntegrityError('objects/ab/cd', 'content digest is 00'),
  new common.AuthError('docker://127.0.0.1:5000/x:1', 'the credentials from --creds were refused'),
  new common.UnsupportedError('splitstream version 9', { input: 'streams/x' }),
  new common.VerityUnsupportedError('/tmp/f', 'EOPNOTSUPP'),
  new common.VerityNotEnabledError('/tmp/f'),
  new common.HostUnavailableError('storing objects', 'disabled by CFSKIT_DISABLE_ADDON=1'),
  new common.SystemError('ENOSPC', 'write', '/tmp/f', 'no space left on device'),
  new common.LockBusyError('fd 7', 'exclusive'),
  new common.RepositoryBusyError('/repo'),
  new common.CancelledError('fd 9: digest cancelled: its worker threads were closed'),
];

test('the table holds every class common/ exports, and the samples cover it', () => {
  const exported = Object.entries(common).filter(([, v]) => typeof v === 'function' && (v === CfskitError || (v as { prototype: unknown }).prototype instanceof CfskitError));
  assert.equal([...ERROR_CLASSES.keys()].sort(), exported.map(([k]) => k).sort());
  assert.equal(samples.map((s) => s.constructor.name).sort(), [...ERROR_CLASSES.keys()].sort());
});

test('every class survives a worker-thread boundary: class, code, message, fields', () => {
  for (const original of samples) {
    const revived = reviveError(structuredClone(serializeError(original)));
    const cls = original.constructor as typeof CfskitError;
    assert.instance(revived, cls, cls.name);
    assert.instance(revived, Error);
    assert.is(revived.name, original.name);
    assert.is((revived as CfskitError).code, original.code, cls.name);
    assert.is(revived.message, original.message);
    for (const [key, value] of Object.entries(original)) {
      if (typeof value === 'string') assert.is((revived as unknown as Record<string, unknown>)[key], value, `${cls.name}.${key}`);
    }
    assert.ok(typeof revived.stack === 'string' && revived.stack.includes(original.message), `${cls.name} has a stack`);
  }
});

test('an error that is not cfskit\'s comes back as a plain Error with its message', () => {
  const revived = reviveError(structuredClone(serializeError(new TypeError('boom'))));
  assert.is(revived.constructor, Error);
  assert.is(revived.message, 'boom');
  assert.is(reviveError(serializeError('a string')).message, 'a string');
});

test('systemError keeps cfskit errors and names the path of Node ones', () => {
  const own = new common.IntegrityError('x', 'y');
  assert.is(common.systemError(own, '/p'), own);
  const enoent = Object.assign(new Error("ENOENT: no such file or directory, open '/p'"), { code: 'ENOENT', syscall: 'open' });
  const e = common.systemError(enoent, '/p');
  assert.instance(e, common.SystemError);
  assert.is(e.message, '/p: open failed: no such file or directory (ENOENT)');
  assert.is(common.errnoOf(e), 'ENOENT');
  assert.ok(common.isErrno(enoent, 'EEXIST', 'ENOENT'));
  assert.not.ok(common.isErrno(own, 'ENOENT'));
  // zlib's and Node's own codes are not errno names, but are still codes.
  const zlib = Object.assign(new Error('unexpected end of file'), { code: 'Z_BUF_ERROR' });
  assert.is(common.errnoOf(zlib), undefined);
  assert.is(common.nodeErrorCode(zlib), 'Z_BUF_ERROR');
});

test.run();
