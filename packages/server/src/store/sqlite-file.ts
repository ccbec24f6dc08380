import { closeSync, constants, openSync, readSync, type Stats, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { TesseraError } from '../errors.js';

/** Every SQLite 3 database file starts with these 16 bytes (https://www.sqlite.org/fileformat.html §1.3). */
const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

/**
 * Checks a SQLite path before the driver opens it, so every way it can be wrong is one line
 * naming the file, not a driver stack trace; creates a missing file with mode 0600.
 *
 * The file holds password hashes and the audit log, so like the master key file it must not be
 * readable by group or others, the same rule as for the key file. SQLite gives its `-wal` and `-shm` files the
 * database file's permissions, so a 0600 database keeps them 0600 too; existing ones are checked.
 *
 * @throws TesseraError `DATABASE_FILE_INVALID` (missing directory, not a regular file,
 *   unreadable, unwritable, not a SQLite database) or `DATABASE_FILE_INSECURE`.
 */
export function prepareSqliteFile(file: string): void {
  const directory = dirname(file);
  const dirInfo = statOrUndefined(directory, file);
  // Never create missing directories: a typo'd path would otherwise silently become a new,
  // empty database somewhere unexpected.
  if (!dirInfo) invalid(`the directory ${directory} for the SQLite database ${file} does not exist`);
  if (!dirInfo.isDirectory()) invalid(`${directory} (the directory of the SQLite database ${file}) is not a directory`);

  const info = statOrUndefined(file, file);
  if (!info) {
    create(file);
    return;
  }
  if (info.isDirectory()) invalid(`the SQLite database path ${file} is a directory, not a file`);
  if (!info.isFile()) invalid(`the SQLite database path ${file} is not a regular file`);
  checkHeader(file);

  const exposed: string[] = [];
  for (const path of [file, `${file}-wal`, `${file}-shm`]) {
    const mode = path === file ? info.mode : statOrUndefined(path, file)?.mode;
    if (mode !== undefined && (mode & 0o077) !== 0) exposed.push(`${path} (mode ${(mode & 0o777).toString(8)})`);
  }
  if (exposed.length > 0) {
    const paths = exposed.map((entry) => entry.slice(0, entry.lastIndexOf(' (')));
    throw new TesseraError(
      'DATABASE_FILE_INSECURE',
      `the SQLite database ${exposed.join(', ')} may be read by group or others; run: chmod 600 ${paths.join(' ')}`,
    );
  }
  try {
    closeSync(openSync(file, constants.O_RDWR));
  } catch (error) {
    invalid(`the SQLite database ${file} cannot be opened for writing (${describe(error)})`);
  }
}

function create(file: string): void {
  try {
    // O_EXCL: another process creating it at the same moment wins, and we simply open theirs.
    // Mode 0600 here; the umask can only narrow it.
    closeSync(openSync(file, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return;
    invalid(`cannot create the SQLite database ${file} (${describe(error)})`);
  }
}

/** An empty file is a new database to SQLite; anything else must start with the SQLite header. */
function checkHeader(file: string): void {
  const header = Buffer.alloc(SQLITE_HEADER.length);
  let read: number;
  try {
    const fd = openSync(file, constants.O_RDONLY);
    try {
      read = readSync(fd, header, 0, header.length, 0);
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    invalid(`the SQLite database ${file} cannot be read (${describe(error)})`);
  }
  if (read !== 0 && !header.subarray(0, read).equals(SQLITE_HEADER)) {
    invalid(`${file} is not a SQLite database`);
  }
}

function statOrUndefined(path: string, file: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ENOTDIR') invalid(`a parent of the SQLite database ${file} is not a directory`);
    invalid(`cannot inspect ${path} for the SQLite database ${file} (${describe(error)})`);
  }
}

function describe(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EROFS') return 'read-only file system';
  return code ?? (error instanceof Error ? error.message : String(error));
}

function invalid(message: string): never {
  throw new TesseraError('DATABASE_FILE_INVALID', message);
}
