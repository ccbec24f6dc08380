import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import { chmod, link, mkdir, open, readFile, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { TesseraError } from '../errors.js';

/** Where the server's master key comes from. */
export type MasterKeySource =
  | { kind: 'env'; value: string }
  | {
      kind: 'file';
      path: string;
      create: boolean;
      /** An older default name (`tessera.key` beside the database), read when `path` is missing. */
      legacyPath?: string;
    };

const KEY_BYTES = 32;

/** Decodes a base64 master key, refusing anything that is not exactly 32 bytes. */
export function decodeMasterKey(text: string, origin: string): Buffer {
  const trimmed = text.trim();
  // Strict base64: Buffer.from silently drops junk, so round-trip to catch it.
  const key = Buffer.from(trimmed, 'base64');
  const canonical = key.toString('base64');
  if (key.length !== KEY_BYTES || (canonical !== trimmed && canonical.replace(/=+$/, '') !== trimmed)) {
    throw new TesseraError(
      'MASTER_KEY_INVALID',
      `${origin} must be ${KEY_BYTES} bytes encoded as base64 (got ${key.length} bytes)`,
    );
  }
  return key;
}

/**
 * Loads the master key, creating the key file (mode 0600) on first start when allowed.
 * A key file that group or others may read is refused: anyone who can read it can unseal
 * every recoverable secret in the database.
 */
export async function loadMasterKey(source: MasterKeySource): Promise<Buffer> {
  const found = await findMasterKey(source);
  if (found) return found;
  if (source.kind !== 'file') throw new TypeError('only a key file can be missing');
  return createMasterKeyFile(source.path);
}

/**
 * Loads the master key if it exists; `undefined` when it is a key file that does not exist
 * yet and may be created (the caller decides whether creating one is safe, then calls
 * {@link createMasterKeyFile}).
 *
 * @throws TesseraError `MASTER_KEY_INVALID`, `MASTER_KEY_FILE_INSECURE`, `MASTER_KEY_REQUIRED`.
 */
export async function findMasterKey(source: MasterKeySource): Promise<Buffer | undefined> {
  if (source.kind === 'env') return decodeMasterKey(source.value, 'TESSERA_MASTER_KEY');
  if (source.path === '') {
    // Only PostgreSQL leaves the path empty: no file beside a database, and instances must agree.
    throw new TesseraError(
      'MASTER_KEY_REQUIRED',
      'with PostgreSQL every instance must share one master key: set TESSERA_MASTER_KEY or TESSERA_MASTER_KEY_FILE',
    );
  }

  let path = source.path;
  let info = await statOrUndefined(path);
  if (!info && source.legacyPath !== undefined) {
    // Installs made before the key file was named after the database keep their key.
    const legacy = await statOrUndefined(source.legacyPath);
    if (legacy) [path, info] = [source.legacyPath, legacy];
  }
  if (!info) {
    if (!source.create) {
      throw new TesseraError('MASTER_KEY_REQUIRED', `master key file ${source.path} does not exist`);
    }
    return undefined;
  }
  if ((info.mode & 0o077) !== 0) {
    throw new TesseraError(
      'MASTER_KEY_FILE_INSECURE',
      `master key file ${path} has mode ${(info.mode & 0o777).toString(8)}; run: chmod 600 ${path}`,
    );
  }
  return decodeMasterKey(await readFile(path, 'utf8'), `master key file ${path}`);
}

async function statOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await stat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    return undefined;
  }
}

/** Writes a new random master key to `path` (mode 0600); an existing file wins a race. */
export async function createMasterKeyFile(path: string): Promise<Buffer> {
  await mkdir(dirname(path), { recursive: true });
  const key = randomBytes(KEY_BYTES);
  // Written whole to a private temporary file, then linked into place: link() fails if
  // another process got there first, and nobody ever sees a half-written key file.
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(temporary, 'wx', 0o600);
  try {
    await handle.writeFile(`${key.toString('base64')}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await chmod(temporary, 0o600); // the umask may have narrowed it further; never widened
    await link(temporary, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return loadMasterKey({ kind: 'file', path, create: false });
  } finally {
    await unlink(temporary).catch(() => undefined);
  }
  return key;
}
