import { execFileSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ErrorCode, isTesseraError } from '../errors.js';
import {
  type Argon2Params,
  checkNewPassword,
  DEFAULT_ARGON2,
  PASSWORD_MAX_BYTES,
  PASSWORD_MIN_CHARS,
  PasswordHasher,
} from './passwords.js';

const WEAK: Argon2Params = { memoryCost: 1024, timeCost: 1, parallelism: 1 };
const PASSWORD = 'correct horse battery staple';

/** Django's `make_password` for pbkdf2_sha256, computed by Python's hashlib, not by Tessera. */
function djangoPbkdf2(password: string, salt: string, iterations: number): string {
  const script = [
    'import base64, hashlib, sys',
    'password, salt, iterations = sys.argv[1], sys.argv[2], int(sys.argv[3])',
    "digest = hashlib.pbkdf2_hmac('sha256', password.encode(), salt.encode(), iterations)",
    "print('pbkdf2_sha256$%d$%s$%s' % (iterations, salt, base64.b64encode(digest).decode()))",
  ].join('\n');
  return execFileSync('python3', ['-c', script, password, salt, String(iterations)], { encoding: 'utf8' }).trim();
}

/** The m, t and p of an argon2 PHC string, whatever their order. */
function phcParams(hash: string): Record<string, number> {
  const params = hash.split('$')[3] ?? '';
  return Object.fromEntries(params.split(',').map((pair) => [pair.split('=')[0], Number(pair.split('=')[1])]));
}

describe('PasswordHasher', () => {
  const hasher = new PasswordHasher();

  it('hashes with argon2id at m=19456, t=2, p=1 with a 16-byte salt, as a PHC string', async () => {
    expect(DEFAULT_ARGON2).toEqual({ memoryCost: 19456, timeCost: 2, parallelism: 1 });
    const hash = await hasher.hash(PASSWORD);
    const match = /^\$argon2id\$v=19\$([a-z0-9=,]+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/.exec(hash);
    expect(match, hash).not.toBeNull();
    // The argon2 package writes the parameters in alphabetical order (m, p, t).
    expect(phcParams(hash)).toEqual({ m: 19456, t: 2, p: 1 });
    expect(Buffer.from(match?.[2] ?? '', 'base64')).toHaveLength(16);
    expect(Buffer.from(match?.[3] ?? '', 'base64')).toHaveLength(32);
    expect(hash).not.toContain(PASSWORD);
  });

  it('salts every hash afresh', async () => {
    const [a, b] = await Promise.all([hasher.hash(PASSWORD), hasher.hash(PASSWORD)]);
    expect(a).not.toBe(b);
  });

  it('verifies the right password and refuses a wrong, trimmed, case-folded or extended one', async () => {
    const hash = await hasher.hash(' Pass phrase with spaces ');
    expect(await hasher.verify(hash, ' Pass phrase with spaces ')).toEqual({ ok: true, needsRehash: false });
    for (const wrong of ['Pass phrase with spaces', ' pass phrase with spaces ', ' Pass phrase with spaces  ', '']) {
      expect(await hasher.verify(hash, wrong)).toEqual({ ok: false, needsRehash: false });
    }
  });

  it('flags a correct password whose hash used weaker parameters for rehash, and not a wrong one', async () => {
    const weakHash = await new PasswordHasher({ params: WEAK }).hash(PASSWORD);
    expect(phcParams(weakHash)).toEqual({ m: 1024, t: 1, p: 1 });
    expect(await hasher.verify(weakHash, PASSWORD)).toEqual({ ok: true, needsRehash: true });
    expect(await hasher.verify(weakHash, 'wrong password')).toEqual({ ok: false, needsRehash: false });
    for (const params of [
      { ...DEFAULT_ARGON2, memoryCost: 19455 },
      { ...DEFAULT_ARGON2, timeCost: 1 },
    ]) {
      const hash = await new PasswordHasher({ params }).hash(PASSWORD);
      expect((await hasher.verify(hash, PASSWORD)).needsRehash, JSON.stringify(params)).toBe(true);
    }
  });

  describe('legacy Django pbkdf2_sha256', () => {
    let imported: string;
    beforeAll(() => {
      imported = djangoPbkdf2(PASSWORD, 'sUpErSaLt1234567', 10_000);
    });

    it('verifies an imported hash and flags it for rehash', async () => {
      expect(imported).toMatch(/^pbkdf2_sha256\$10000\$sUpErSaLt1234567\$[A-Za-z0-9+/]{43}=$/);
      expect(await hasher.verify(imported, PASSWORD)).toEqual({ ok: true, needsRehash: true });
    });

    it('refuses a wrong password against it without asking for a rehash', async () => {
      expect(await hasher.verify(imported, `${PASSWORD}!`)).toEqual({ ok: false, needsRehash: false });
      expect(await hasher.verify(imported, PASSWORD.toUpperCase())).toEqual({ ok: false, needsRehash: false });
    });

    it('verifies a non-ASCII password hashed by Python', async () => {
      const hash = djangoPbkdf2('pässwörd ☃ 日本', 'salt', 1000);
      expect(await hasher.verify(hash, 'pässwörd ☃ 日本')).toEqual({ ok: true, needsRehash: true });
      expect(await hasher.verify(hash, 'passwort ☃ 日本')).toEqual({ ok: false, needsRehash: false });
    });

    it('refuses malformed pbkdf2 strings instead of throwing', async () => {
      const [, , salt, digest] = imported.split('$');
      for (const bad of [
        'pbkdf2_sha256$',
        `pbkdf2_sha256$0$${salt}$${digest}`,
        `pbkdf2_sha256$abc$${salt}$${digest}`,
        `pbkdf2_sha256$99999999999$${salt}$${digest}`,
        `pbkdf2_sha256$10000$$${digest}`,
        `pbkdf2_sha256$10000$${salt}$`,
      ]) {
        expect(await hasher.verify(bad, PASSWORD), bad).toEqual({ ok: false, needsRehash: false });
      }
    });
  });

  it('refuses unusable or unknown stored hashes', async () => {
    for (const stored of ['', '!', '!unusable', 'plaintext', 'sha1$abc$def']) {
      expect(await hasher.verify(stored, PASSWORD)).toEqual({ ok: false, needsRehash: false });
      expect(await hasher.verify(stored, stored)).toEqual({ ok: false, needsRehash: false });
    }
  });

  it('fails fast with HASHER_BUSY when the queue is full, and still serves the jobs it took', async () => {
    const tiny = new PasswordHasher({ params: WEAK, concurrency: 1, maxQueue: 1 });
    const results = await Promise.allSettled([tiny.hash('a'), tiny.hash('b'), tiny.hash('c')]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    const reason = (results[2] as PromiseRejectedResult).reason;
    expect(isTesseraError(reason, 'HASHER_BUSY')).toBe(true);
    expect(await tiny.hash('d')).toMatch(/^\$argon2id\$/);
  });
});

describe('checkNewPassword', () => {
  const never = () => false;
  const thrown = (password: string, isCommon: (p: string) => boolean = never): ErrorCode | undefined => {
    try {
      checkNewPassword(password, isCommon);
      return undefined;
    } catch (error) {
      if (isTesseraError(error)) return error.code;
      throw error;
    }
  };

  it('needs at least 8 characters, counted as code points', () => {
    expect(PASSWORD_MIN_CHARS).toBe(8);
    expect(thrown('1234567')).toBe('PASSWORD_TOO_SHORT');
    expect(thrown('12345678')).toBeUndefined();
    expect(thrown('')).toBe('PASSWORD_TOO_SHORT');
    // Seven emoji are 14 UTF-16 units but 7 characters.
    expect(thrown('🔑'.repeat(7))).toBe('PASSWORD_TOO_SHORT');
    expect(thrown('🔑'.repeat(8))).toBeUndefined();
  });

  it('accepts 64 characters and more, up to 1024 bytes of UTF-8, and refuses beyond', () => {
    expect(PASSWORD_MAX_BYTES).toBe(1024);
    expect(thrown('a'.repeat(64))).toBeUndefined();
    expect(thrown('a'.repeat(65))).toBeUndefined();
    expect(thrown('a'.repeat(1024))).toBeUndefined();
    expect(thrown('a'.repeat(1025))).toBe('PASSWORD_TOO_LONG');
    expect(thrown('a'.repeat(10_000))).toBe('PASSWORD_TOO_LONG');
    // Bytes, not characters: 512 two-byte characters fit, 513 do not.
    expect(thrown('é'.repeat(512))).toBeUndefined();
    expect(thrown('é'.repeat(513))).toBe('PASSWORD_TOO_LONG');
  });

  it('trims nothing: spaces count toward the length', () => {
    expect(thrown('   abc  ')).toBeUndefined();
    expect(thrown('       x')).toBeUndefined();
    expect(thrown(' abcdef ')).toBeUndefined();
    expect(thrown('abcdef ')).toBe('PASSWORD_TOO_SHORT');
  });

  it('refuses a password the common-password check flags, passing it the password unchanged', () => {
    const seen: string[] = [];
    const isCommon = (p: string) => {
      seen.push(p);
      return p === ' Password1 ';
    };
    expect(thrown(' Password1 ', isCommon)).toBe('PASSWORD_TOO_COMMON');
    expect(seen).toEqual([' Password1 ']);
    expect(thrown('Password1', isCommon)).toBeUndefined();
  });

  it('checks the length before the common-password list', () => {
    let asked = false;
    const isCommon = () => {
      asked = true;
      return true;
    };
    expect(thrown('short', isCommon)).toBe('PASSWORD_TOO_SHORT');
    expect(thrown('x'.repeat(2000), isCommon)).toBe('PASSWORD_TOO_LONG');
    expect(asked).toBe(false);
  });
});
