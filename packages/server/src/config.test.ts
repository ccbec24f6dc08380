import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDuration, resolveConfig, sqlitePath } from './config.js';
import { loadMasterKey } from './crypto/master-key.js';
import { type ErrorCode, isTesseraError } from './errors.js';

const KEY = Buffer.alloc(32, 7).toString('base64');

/** The code and message `resolveConfig(env)` throws with. */
function refusal(env: NodeJS.ProcessEnv): { code: ErrorCode; message: string } {
  try {
    resolveConfig(env);
  } catch (error) {
    if (isTesseraError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error(`resolveConfig(${JSON.stringify(env)}) accepted it`);
}

describe('resolveConfig defaults', () => {
  it('serves SQLite ./tessera.db on 127.0.0.1:8000 with a key file made beside it', () => {
    const config = resolveConfig({});
    expect(config.host).toBe('127.0.0.1');
    expect(config.port).toBe(8000);
    expect(config.databaseUrl).toBe('tessera.db');
    expect(config.masterKey).toEqual({
      kind: 'file',
      path: join(process.cwd(), 'tessera.db.key'),
      create: true,
      legacyPath: join(process.cwd(), 'tessera.key'),
    });
    expect(config.previousMasterKeys).toEqual([]);
  });

  it('uses Django’s cookie and header names, a 1-day idle and 14-day absolute session', () => {
    expect(resolveConfig({}).session).toEqual({
      cookieName: 'sessionid',
      csrfCookieName: 'csrftoken',
      csrfHeaderName: 'x-csrftoken',
      idleMs: 86_400_000,
      absoluteMs: 14 * 86_400_000,
      secureCookies: 'auto',
    });
  });

  it('throttles 20 logins per account and 200 per address per 15 minutes', () => {
    expect(resolveConfig({}).throttle).toEqual({
      account: { max: 20, windowMs: 900_000 },
      address: { max: 200, windowMs: 900_000 },
    });
  });

  it('limits bodies to 64 KiB, logs at info, hashes 2 at once, and drains for 10 s', () => {
    const config = resolveConfig({});
    expect(config.bodyLimitBytes).toBe(65_536);
    expect(config.logLevel).toBe('info');
    expect(config.hashConcurrency).toBe(2);
    expect(config.shutdownGraceMs).toBe(10_000);
    expect(config.trustedProxies).toEqual([]);
    expect(config.trustedOrigins).toEqual([]);
  });

  it('treats empty numeric and choice variables as unset', () => {
    const config = resolveConfig({ TESSERA_PORT: '', TESSERA_LOG_LEVEL: '', TESSERA_SECURE_COOKIES: '' });
    expect(config.port).toBe(8000);
    expect(config.logLevel).toBe('info');
    expect(config.session.secureCookies).toBe('auto');
  });
});

describe('resolveConfig from the environment', () => {
  it('reads every variable', () => {
    const config = resolveConfig({
      TESSERA_HOST: '0.0.0.0',
      TESSERA_PORT: '0',
      TESSERA_DATABASE_URL: 'data/app.db',
      TESSERA_MASTER_KEY: KEY,
      TESSERA_PREVIOUS_MASTER_KEYS: ' a , b ,,',
      TESSERA_SESSION_COOKIE: '__Host-sessionid',
      TESSERA_CSRF_COOKIE: '__Host-csrf',
      TESSERA_CSRF_HEADER: 'X-CSRF-Token',
      TESSERA_SESSION_IDLE: '30m',
      TESSERA_SESSION_ABSOLUTE: '12h',
      TESSERA_SECURE_COOKIES: 'always',
      TESSERA_LOGIN_LIMIT_ACCOUNT: '5/1m',
      TESSERA_LOGIN_LIMIT_ADDRESS: '100/1h',
      TESSERA_TRUSTED_PROXIES: '10.0.0.1, 10.0.0.2',
      TESSERA_TRUSTED_ORIGINS: 'https://app.example',
      TESSERA_BODY_LIMIT: '1024',
      TESSERA_LOG_LEVEL: 'silent',
      TESSERA_HASH_CONCURRENCY: '64',
      TESSERA_SHUTDOWN_GRACE: '250ms',
    });
    expect(config).toMatchObject({
      host: '0.0.0.0',
      port: 0,
      databaseUrl: 'data/app.db',
      masterKey: { kind: 'env', value: KEY },
      previousMasterKeys: ['a', 'b'],
      session: {
        cookieName: '__Host-sessionid',
        csrfCookieName: '__Host-csrf',
        csrfHeaderName: 'x-csrf-token',
        idleMs: 1_800_000,
        absoluteMs: 43_200_000,
        secureCookies: 'always',
      },
      throttle: { account: { max: 5, windowMs: 60_000 }, address: { max: 100, windowMs: 3_600_000 } },
      trustedProxies: ['10.0.0.1', '10.0.0.2'],
      trustedOrigins: ['https://app.example'],
      bodyLimitBytes: 1024,
      logLevel: 'silent',
      hashConcurrency: 64,
      shutdownGraceMs: 250,
    });
  });

  it('names the default key file after the SQLite database, reading tessera.key beside it too', () => {
    expect(resolveConfig({ TESSERA_DATABASE_URL: 'data/app.db' }).masterKey).toEqual({
      kind: 'file',
      path: resolve('data', 'app.db.key'),
      create: true,
      legacyPath: resolve('data', 'tessera.key'),
    });
    expect(resolveConfig({ TESSERA_DATABASE_URL: 'sqlite:/srv/t/app.db' }).masterKey).toMatchObject({
      path: '/srv/t/app.db.key',
      legacyPath: '/srv/t/tessera.key',
    });
    expect(resolveConfig({ TESSERA_DATABASE_URL: 'file:///srv/u/app.db' }).masterKey).toMatchObject({
      path: '/srv/u/app.db.key',
    });
    expect(resolveConfig({ TESSERA_DATABASE_URL: 'sqlite:///srv/v/app.db' }).masterKey).toMatchObject({
      path: '/srv/v/app.db.key',
    });
  });

  it('resolves TESSERA_MASTER_KEY_FILE, creating it for SQLite but never for PostgreSQL', () => {
    expect(resolveConfig({ TESSERA_MASTER_KEY_FILE: 'keys/k' }).masterKey).toEqual({
      kind: 'file',
      path: resolve('keys/k'),
      create: true,
    });
    expect(
      resolveConfig({ TESSERA_DATABASE_URL: 'postgres://db/tessera', TESSERA_MASTER_KEY_FILE: '/etc/t.key' }).masterKey,
    ).toEqual({ kind: 'file', path: '/etc/t.key', create: false });
  });

  it('prefers TESSERA_MASTER_KEY over TESSERA_MASTER_KEY_FILE', () => {
    expect(resolveConfig({ TESSERA_MASTER_KEY: KEY, TESSERA_MASTER_KEY_FILE: '/etc/t.key' }).masterKey).toEqual({
      kind: 'env',
      value: KEY,
    });
  });

  it('refuses PostgreSQL without a master key with MASTER_KEY_REQUIRED when the key is loaded', async () => {
    // Resolving the config is fine (`tessera migrate` needs no key); loading the key is not.
    for (const url of ['postgres://db/tessera', 'postgresql://db/tessera', 'POSTGRES://db/x']) {
      const { masterKey } = resolveConfig({ TESSERA_DATABASE_URL: url });
      const error = await loadMasterKey(masterKey).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isTesseraError(error, 'MASTER_KEY_REQUIRED')).toBe(true);
      expect((error as Error).message).toMatch(/TESSERA_MASTER_KEY or TESSERA_MASTER_KEY_FILE/);
    }
    expect(resolveConfig({ TESSERA_DATABASE_URL: 'postgres://db/tessera', TESSERA_MASTER_KEY: KEY }).masterKey).toEqual(
      { kind: 'env', value: KEY },
    );
  });

  it('refuses an unsupported database URL scheme with DATABASE_URL_INVALID, hiding its password', () => {
    const { code, message } = refusal({ TESSERA_DATABASE_URL: 'mysql://root:hunter2@db/x' });
    expect(code).toBe('DATABASE_URL_INVALID');
    expect(message).toMatch(/unsupported database URL scheme/);
    expect(message).not.toContain('hunter2');
    expect(() => resolveConfig({}, { databaseUrl: 'redis://x' })).toThrow(/unsupported database URL/);
  });

  it('lets overrides win over the environment', () => {
    const config = resolveConfig(
      { TESSERA_PORT: '9000', TESSERA_SESSION_IDLE: '1h', TESSERA_LOG_LEVEL: 'debug' },
      { port: 1234, session: { idleMs: 5 }, logLevel: 'silent', masterKey: { kind: 'env', value: KEY } },
    );
    expect(config.port).toBe(1234);
    expect(config.session.idleMs).toBe(5);
    expect(config.session.absoluteMs).toBe(14 * 86_400_000);
    expect(config.logLevel).toBe('silent');
    expect(config.masterKey).toEqual({ kind: 'env', value: KEY });
  });

  it('lets a valid override stand in for an invalid variable it replaces', () => {
    expect(resolveConfig({ TESSERA_PORT: 'nope' }, { port: 80 }).port).toBe(80);
  });
});

describe('resolveConfig refuses bad values with CONFIG_INVALID naming the variable', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['TESSERA_PORT', 'abc', /integer from 0 to 65535/],
    ['TESSERA_PORT', '65536', /integer from 0 to 65535/],
    ['TESSERA_PORT', '-1', /integer/],
    ['TESSERA_PORT', '80.5', /integer/],
    ['TESSERA_BODY_LIMIT', '1023', /integer from 1024/],
    ['TESSERA_HASH_CONCURRENCY', '0', /integer from 1 to 64/],
    ['TESSERA_HASH_CONCURRENCY', '65', /integer from 1 to 64/],
    ['TESSERA_SESSION_IDLE', '0', /duration/],
    ['TESSERA_SESSION_IDLE', '1w', /duration/],
    ['TESSERA_SESSION_IDLE', '-5s', /duration/],
    ['TESSERA_SESSION_ABSOLUTE', '14 days', /duration/],
    ['TESSERA_SHUTDOWN_GRACE', '1.5s', /duration/],
    ['TESSERA_LOGIN_LIMIT_ACCOUNT', '20', /attempts per window/],
    ['TESSERA_LOGIN_LIMIT_ACCOUNT', 'x/15m', /attempts per window/],
    ['TESSERA_LOGIN_LIMIT_ACCOUNT', '0/15m', /attempts per window/],
    ['TESSERA_LOGIN_LIMIT_ADDRESS', '20/0s', /attempts per window/],
    ['TESSERA_LOGIN_LIMIT_ADDRESS', '20/forever', /attempts per window/],
    ['TESSERA_LOG_LEVEL', 'verbose', /fatal \| error \| warn \| info \| debug \| silent/],
    ['TESSERA_SECURE_COOKIES', 'yes', /auto \| always \| never/],
    ['TESSERA_SESSION_COOKIE', 'session id', /cookie name/],
    ['TESSERA_SESSION_COOKIE', 'a;b', /cookie name/],
    ['TESSERA_CSRF_COOKIE', 'x'.repeat(65), /cookie name/],
  ];
  for (const [name, value, expected] of cases) {
    it(`${name}=${JSON.stringify(value.length > 20 ? `${value.slice(0, 10)}…` : value)}`, () => {
      const { code, message } = refusal({ [name]: value });
      expect(code).toBe('CONFIG_INVALID');
      expect(message).toContain(`${name}=${JSON.stringify(value)} is invalid: expected `);
      expect(message).toMatch(expected);
    });
  }
});

describe('parseDuration', () => {
  it('reads ms, s, m, h and d, and a bare number as seconds', () => {
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('90')).toBe(90_000);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('15m')).toBe(900_000);
    expect(parseDuration('12h')).toBe(43_200_000);
    expect(parseDuration('14d')).toBe(1_209_600_000);
    expect(parseDuration(' 5m ')).toBe(300_000);
    expect(parseDuration('0')).toBe(0);
  });

  it('reads nothing else', () => {
    for (const text of ['', 'm', '5 m', '5M', '1.5h', '-1s', '1w', '1h30m', '0x10', '1e3']) {
      expect(parseDuration(text), text).toBeUndefined();
    }
  });
});

describe('sqlitePath', () => {
  it('strips a sqlite: or file: prefix and keeps a plain path', () => {
    expect(sqlitePath('tessera.db')).toBe('tessera.db');
    expect(sqlitePath('sqlite:data/t.db')).toBe('data/t.db');
    expect(sqlitePath('sqlite:///abs/t.db')).toBe('/abs/t.db');
    expect(sqlitePath('file:/abs/t.db')).toBe('/abs/t.db');
  });
});

describe('TESSERA_ALLOWED_HOSTS (issue 13 item 2)', () => {
  it('item 2: is unset by default, so the bound address decides', () => {
    expect(resolveConfig({}).allowedHosts).toBeNull();
    expect(resolveConfig({ TESSERA_ALLOWED_HOSTS: ' , ' }).allowedHosts).toBeNull();
  });

  it('item 2: reads comma-separated names, normalised', () => {
    expect(resolveConfig({ TESSERA_ALLOWED_HOSTS: 'Auth.Example, *.corp.example,::1' }).allowedHosts).toEqual([
      'auth.example',
      '*.corp.example',
      '[::1]',
    ]);
  });

  it('item 2: refuses an entry with a port or a scheme, naming the variable', () => {
    for (const value of ['auth.example:443', 'https://auth.example']) {
      const { code, message } = refusal({ TESSERA_ALLOWED_HOSTS: value });
      expect(code).toBe('CONFIG_INVALID');
      expect(message).toContain('TESSERA_ALLOWED_HOSTS');
    }
  });
});

describe('TESSERA_TRUSTED_PROXIES (issue 13 item 3)', () => {
  it('item 3: takes IP addresses, IPv4-mapped IPv6 as IPv4, as peers are compared', () => {
    expect(resolveConfig({ TESSERA_TRUSTED_PROXIES: '10.0.0.1, ::ffff:10.0.0.2, 2001:db8::1' }).trustedProxies).toEqual(
      ['10.0.0.1', '10.0.0.2', '2001:db8::1'],
    );
  });

  it('item 3: refuses a host name or a port, which could never match a peer', () => {
    for (const value of ['proxy.internal', '10.0.0.1:80', '10.0.0.0/8']) {
      const { code, message } = refusal({ TESSERA_TRUSTED_PROXIES: value });
      expect(code).toBe('CONFIG_INVALID');
      expect(message).toContain('TESSERA_TRUSTED_PROXIES');
    }
  });
});
