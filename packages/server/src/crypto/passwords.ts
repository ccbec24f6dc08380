import { pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import argon2 from 'argon2';
import { TesseraError } from '../errors.js';
import { Semaphore } from './semaphore.js';

const pbkdf2Async = promisify(pbkdf2);

/** argon2id parameters: OWASP Password Storage Cheat Sheet's first option (SECURITY A1). */
export interface Argon2Params {
  memoryCost: number; // KiB
  timeCost: number;
  parallelism: number;
}

export const DEFAULT_ARGON2: Argon2Params = { memoryCost: 19456, timeCost: 2, parallelism: 1 };

/** Password length limits. Lengths are checked before any hashing (SECURITY A4). */
export const PASSWORD_MIN_CHARS = 8;
export const PASSWORD_MAX_BYTES = 1024;

export interface PasswordCheck {
  ok: boolean;
  /** The stored hash is weaker than policy (or legacy) and should be replaced now. */
  needsRehash: boolean;
}

export interface HasherOptions {
  params?: Argon2Params;
  /** Hashes running at once; each holds `memoryCost` KiB and one thread-pool thread. */
  concurrency?: number;
  /** Hashes allowed to wait; beyond this callers get `HASHER_BUSY` at once. */
  maxQueue?: number;
}

/**
 * Hashes and verifies passwords with argon2id, off the event loop (the argon2 addon runs on
 * libuv's thread pool) and with bounded concurrency. Verifies legacy Django
 * `pbkdf2_sha256$…` hashes so users can be imported; those are flagged for rehash.
 */
export class PasswordHasher {
  readonly #params: Argon2Params;
  readonly #gate: Semaphore;
  #dummy: Promise<string> | undefined;

  constructor(options: HasherOptions = {}) {
    this.#params = options.params ?? DEFAULT_ARGON2;
    this.#gate = new Semaphore(options.concurrency ?? 2, options.maxQueue ?? 256);
  }

  async hash(password: string): Promise<string> {
    return this.#gate.run(() =>
      argon2.hash(password, { type: argon2.argon2id, salt: randomBytes(16), ...this.#params }),
    );
  }

  async verify(stored: string, password: string): Promise<PasswordCheck> {
    if (stored.startsWith('$argon2')) {
      const ok = await this.#gate.run(() => argon2.verify(stored, password));
      return { ok, needsRehash: ok && argon2.needsRehash(stored, this.#params) };
    }
    if (stored.startsWith('pbkdf2_sha256$')) {
      const ok = await this.#gate.run(() => verifyDjangoPbkdf2(stored, password));
      return { ok, needsRehash: ok };
    }
    // Unusable or unknown hash: spend the same time as a real check, then refuse.
    await this.verifyDummy(password);
    return { ok: false, needsRehash: false };
  }

  /**
   * Runs one full verification against a throwaway hash, so that an unknown username costs
   * the same time as a wrong password (SECURITY B2).
   */
  async verifyDummy(password: string): Promise<void> {
    // Made outside the queue and forgotten if it fails: a busy moment must not leave unknown
    // usernames failing differently from known ones for the life of the process (B1).
    this.#dummy ??= argon2
      .hash(randomBytes(16).toString('base64'), { type: argon2.argon2id, ...this.#params })
      .catch((error: unknown) => {
        this.#dummy = undefined;
        throw error;
      });
    const dummy = await this.#dummy;
    await this.#gate.run(() => argon2.verify(dummy, password));
  }
}

/** Django's `pbkdf2_sha256$<iterations>$<salt>$<base64 hash>`. */
async function verifyDjangoPbkdf2(stored: string, password: string): Promise<boolean> {
  const [, iterText, salt, expected] = stored.split('$');
  const iterations = Number(iterText);
  if (!salt || !expected || !Number.isInteger(iterations) || iterations < 1 || iterations > 10_000_000) {
    return false;
  }
  const want = Buffer.from(expected, 'base64');
  if (want.length === 0) return false;
  const got = await pbkdf2Async(password, salt, iterations, want.length, 'sha256');
  return timingSafeEqual(got, want);
}

/**
 * Checks a new password against the policy: at least 8 characters, at most 1 KiB, and not
 * among the most common passwords. Nothing is trimmed, truncated or case-folded (ASVS 5.0
 * 6.2.5); any Unicode is allowed.
 *
 * @throws TesseraError `PASSWORD_TOO_SHORT`, `PASSWORD_TOO_LONG` or `PASSWORD_TOO_COMMON`.
 */
export function checkNewPassword(password: string, isCommon: (p: string) => boolean): void {
  if (Buffer.byteLength(password, 'utf8') > PASSWORD_MAX_BYTES) {
    throw new TesseraError('PASSWORD_TOO_LONG', `Password must be at most ${PASSWORD_MAX_BYTES} bytes.`);
  }
  if ([...password].length < PASSWORD_MIN_CHARS) {
    throw new TesseraError('PASSWORD_TOO_SHORT', `Password must be at least ${PASSWORD_MIN_CHARS} characters.`);
  }
  if (isCommon(password)) {
    throw new TesseraError('PASSWORD_TOO_COMMON', 'This password is too common.');
  }
}
