import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ErrorCode, isTesseraError } from '../errors.js';
import { decodeMasterKey, loadMasterKey } from './master-key.js';

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection, got a key');
}

function expectCode(error: unknown, code: ErrorCode): void {
  expect(isTesseraError(error, code), String(error)).toBe(true);
}

describe('decodeMasterKey', () => {
  const key = randomBytes(32);

  it('accepts 32 bytes of base64, padded or not, with surrounding whitespace', () => {
    const text = key.toString('base64');
    for (const form of [text, text.replace(/=+$/, ''), `${text}\n`, `  ${text}\r\n`]) {
      expect(decodeMasterKey(form, 'test key').equals(key)).toBe(true);
    }
  });

  it('refuses any other length with MASTER_KEY_INVALID naming the origin and the size found', () => {
    for (const bytes of [0, 1, 16, 31, 33, 64]) {
      let error: unknown;
      try {
        decodeMasterKey(randomBytes(bytes).toString('base64'), 'TESSERA_MASTER_KEY');
      } catch (caught) {
        error = caught;
      }
      expectCode(error, 'MASTER_KEY_INVALID');
      expect((error as Error).message).toBe(
        `TESSERA_MASTER_KEY must be 32 bytes encoded as base64 (got ${bytes} bytes)`,
      );
    }
  });

  it('refuses text that base64 decoding would silently repair: junk characters, base64url, inner spaces', () => {
    const text = key.toString('base64');
    const junk = `${text.slice(0, 10)}!${text.slice(10)}`;
    const url = key.toString('base64url');
    const spaced = `${text.slice(0, 20)} ${text.slice(20)}`;
    for (const bad of [junk, spaced, ...(url === text.replace(/=+$/, '') ? [] : [url])]) {
      expect(() => decodeMasterKey(bad, 'k')).toThrow(/must be 32 bytes/);
    }
    // A key whose base64 surely holds '+' or '/' makes the base64url case certain.
    const slashy = Buffer.alloc(32, 0xff);
    expect(() => decodeMasterKey(slashy.toString('base64url'), 'k')).toThrow(/must be 32 bytes/);
    expect(decodeMasterKey(slashy.toString('base64'), 'k').equals(slashy)).toBe(true);
  });
});

describe('loadMasterKey', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-key-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('decodes an environment key', async () => {
    const key = randomBytes(32);
    expect((await loadMasterKey({ kind: 'env', value: key.toString('base64') })).equals(key)).toBe(true);
    expectCode(await rejection(loadMasterKey({ kind: 'env', value: 'short' })), 'MASTER_KEY_INVALID');
  });

  it('creates a missing key file with mode 0600, its parent directory, and 32 random bytes in base64', async () => {
    const path = join(dir, 'nested', 'tessera.key');
    const previousUmask = process.umask(0); // the file must be 0600 whatever the umask
    let key: Buffer;
    try {
      key = await loadMasterKey({ kind: 'file', path, create: true });
    } finally {
      process.umask(previousUmask);
    }
    expect(key).toHaveLength(32);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path, 'utf8')).toBe(`${key.toString('base64')}\n`);
    // Loading again reads the same key instead of making a new one.
    expect((await loadMasterKey({ kind: 'file', path, create: true })).equals(key)).toBe(true);
    expect((await loadMasterKey({ kind: 'file', path, create: false })).equals(key)).toBe(true);
  });

  it('makes different keys in different places', async () => {
    const a = await loadMasterKey({ kind: 'file', path: join(dir, 'a.key'), create: true });
    const b = await loadMasterKey({ kind: 'file', path: join(dir, 'b.key'), create: true });
    expect(a.equals(b)).toBe(false);
  });

  it('gives every one of many concurrent first starts the same key', async () => {
    const path = join(dir, 'tessera.key');
    const keys = await Promise.all(
      Array.from({ length: 20 }, () => loadMasterKey({ kind: 'file', path, create: true })),
    );
    for (const key of keys) expect(key.equals(keys[0] as Buffer)).toBe(true);
    expect(Buffer.from(readFileSync(path, 'utf8'), 'base64').equals(keys[0] as Buffer)).toBe(true);
  });

  it('refuses a missing key file it may not create with MASTER_KEY_REQUIRED, creating nothing', async () => {
    const path = join(dir, 'missing.key');
    expectCode(await rejection(loadMasterKey({ kind: 'file', path, create: false })), 'MASTER_KEY_REQUIRED');
    expect(existsSync(path)).toBe(false);
  });

  it('refuses a key file that group or others may read or write, saying how to fix it', async () => {
    const path = join(dir, 'tessera.key');
    writeFileSync(path, `${randomBytes(32).toString('base64')}\n`);
    for (const mode of [0o644, 0o640, 0o604, 0o620, 0o602, 0o660]) {
      chmodSync(path, mode);
      const error = await rejection(loadMasterKey({ kind: 'file', path, create: true }));
      expectCode(error, 'MASTER_KEY_FILE_INSECURE');
      expect((error as Error).message).toBe(
        `master key file ${path} has mode ${mode.toString(8)}; run: chmod 600 ${path}`,
      );
    }
    for (const mode of [0o600, 0o400]) {
      chmodSync(path, mode);
      expect(await loadMasterKey({ kind: 'file', path, create: false })).toHaveLength(32);
    }
  });

  it('refuses a key file whose content is not a 32-byte key, naming the file', async () => {
    const path = join(dir, 'tessera.key');
    writeFileSync(path, 'not a key\n', { mode: 0o600 });
    const error = await rejection(loadMasterKey({ kind: 'file', path, create: true }));
    expectCode(error, 'MASTER_KEY_INVALID');
    expect((error as Error).message).toContain(`master key file ${path}`);
    expect(readFileSync(path, 'utf8')).toBe('not a key\n');
  });
});
