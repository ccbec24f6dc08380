import { isIP } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import type { MasterKeySource } from './crypto/master-key.js';
import { TesseraError } from './errors.js';
import { normalizeAllowedHost } from './http/host-allow-list.js';
import { redact } from './store/database.js';
import type { ThrottleRule } from './throttle/login-throttle.js';

/** Everything Tessera can be told. Built by {@link resolveConfig}; see the README's table. */
export interface TesseraConfig {
  host: string;
  port: number;
  databaseUrl: string;
  masterKey: MasterKeySource;
  /** Older master keys, base64, still accepted for opening sealed values. */
  previousMasterKeys: string[];
  session: {
    cookieName: string;
    csrfCookieName: string;
    /** Header carrying the CSRF token on unsafe methods, lower-case. */
    csrfHeaderName: string;
    idleMs: number;
    absoluteMs: number;
    /** `auto`: Secure cookies when the request came over HTTPS. */
    secureCookies: 'auto' | 'always' | 'never';
  };
  throttle: { account: ThrottleRule; address: ThrottleRule };
  /** Peer addresses whose `X-Forwarded-For` / `X-Forwarded-Proto` are believed. */
  trustedProxies: string[];
  /** Origins besides the server's own allowed to make cookie-authenticated unsafe requests. */
  trustedOrigins: string[];
  /**
   * `Host` values answered (`*.example.com` for subdomains, `*` for any), against DNS
   * rebinding; null when unset: then the loopback names on a loopback address, else any host.
   */
  allowedHosts: string[] | null;
  /** DRF tokens: one per user, returned again at each login (the seed's way), or one per login. */
  drfTokens: 'per-user' | 'per-login';
  /** How long a verified HTTP Basic username:password is remembered (0 turns it off). */
  basicCacheTtlMs: number;
  jwt: { issuer: string; audience: string; ttlMs: number };
  conjur: {
    /** Lifetime of a Conjur token; clamped to 1 min – 1 h (SECURITY E9). */
    ttlMs: number;
    /** Which token format `authenticate` issues; both are accepted. */
    format: 'legacy' | 'jws';
    /** Accounts served at Conjur v5's `/authn/{account}/…` paths. */
    accounts: string[];
  };
  /** A current signing key older than this is replaced (0: only by `tessera keys rotate-signing`). */
  signingKeyRotationMs: number;
  /** Clock difference tolerated when checking signed tokens' times. */
  clockSkewMs: number;
  /** Verified signed tokens remembered at most (0 verifies every request from scratch). */
  tokenCacheEntries: number;
  bodyLimitBytes: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'silent';
  /** Password hashes computed at once. */
  hashConcurrency: number;
  /** Nice value `serve` gives every thread but the event loop's (0 leaves them alone). */
  backgroundNice: number;
  /** How long SIGTERM waits for in-flight requests. */
  shutdownGraceMs: number;
  /**
   * How recent a session's sign-in must be for it to change a password or email or make a
   * long-lived key (SECURITY G3).
   */
  recentLoginMs: number;
}

export type ConfigOverrides = Partial<Omit<TesseraConfig, 'session' | 'throttle'>> & {
  session?: Partial<TesseraConfig['session']>;
  throttle?: Partial<TesseraConfig['throttle']>;
};

export const DEFAULT_DATABASE = 'tessera.db';

/**
 * The key file of a SQLite database is named after it (`data.db` → `data.db.key`), so two
 * databases in one folder never share a key; `tessera.key` beside it, the name used before,
 * is still read when it exists.
 */
function sqliteKeyFile(databaseUrl: string): MasterKeySource {
  const path = sqlitePath(databaseUrl);
  if (path === ':memory:') return { kind: 'file', path: resolve('tessera.key'), create: true };
  const file = resolve(path);
  return { kind: 'file', path: `${file}.key`, create: true, legacyPath: join(dirname(file), 'tessera.key') };
}

/**
 * Builds the configuration from environment variables, then explicit overrides (CLI flags,
 * or a test's settings) on top.
 *
 * @throws TesseraError `CONFIG_INVALID` naming the variable and what was wrong;
 *   `DATABASE_URL_INVALID` for a URL scheme other than SQLite's or PostgreSQL's;
 *   `MASTER_KEY_REQUIRED` for PostgreSQL without a master key.
 */
export function resolveConfig(env: NodeJS.ProcessEnv = process.env, overrides: ConfigOverrides = {}): TesseraConfig {
  const databaseUrl = overrides.databaseUrl ?? env.TESSERA_DATABASE_URL ?? DEFAULT_DATABASE;
  const isPostgres = /^postgres(ql)?:\/\//i.test(databaseUrl);
  // Refused here, before a key file path is derived from it: `mysql://x` read as a SQLite
  // path would otherwise get a `mysql:/tessera.key` made beside it on the way to the refusal.
  if (!isPostgres && /^[a-z][a-z0-9+.-]*:\/\//i.test(databaseUrl) && !/^(sqlite|file):/i.test(databaseUrl)) {
    throw new TesseraError('DATABASE_URL_INVALID', `unsupported database URL scheme in ${redact(databaseUrl)}`);
  }
  const masterKey: MasterKeySource =
    overrides.masterKey ??
    (env.TESSERA_MASTER_KEY
      ? { kind: 'env', value: env.TESSERA_MASTER_KEY }
      : env.TESSERA_MASTER_KEY_FILE
        ? { kind: 'file', path: resolve(env.TESSERA_MASTER_KEY_FILE), create: !isPostgres }
        : isPostgres
          ? { kind: 'file', path: '', create: false }
          : sqliteKeyFile(databaseUrl));

  return {
    host: overrides.host ?? env.TESSERA_HOST ?? '127.0.0.1',
    port: overrides.port ?? integer(env, 'TESSERA_PORT', 8000, 0, 65535),
    databaseUrl,
    masterKey,
    previousMasterKeys: overrides.previousMasterKeys ?? list(env.TESSERA_PREVIOUS_MASTER_KEYS),
    session: {
      cookieName: overrides.session?.cookieName ?? cookieName(env, 'TESSERA_SESSION_COOKIE', 'sessionid'),
      csrfCookieName: overrides.session?.csrfCookieName ?? cookieName(env, 'TESSERA_CSRF_COOKIE', 'csrftoken'),
      csrfHeaderName: (overrides.session?.csrfHeaderName ?? env.TESSERA_CSRF_HEADER ?? 'X-CSRFToken').toLowerCase(),
      idleMs: overrides.session?.idleMs ?? duration(env, 'TESSERA_SESSION_IDLE', '1d'),
      absoluteMs: overrides.session?.absoluteMs ?? duration(env, 'TESSERA_SESSION_ABSOLUTE', '14d'),
      secureCookies:
        overrides.session?.secureCookies ?? oneOf(env, 'TESSERA_SECURE_COOKIES', ['auto', 'always', 'never'], 'auto'),
    },
    throttle: {
      account: overrides.throttle?.account ?? rate(env, 'TESSERA_LOGIN_LIMIT_ACCOUNT', '20/15m'),
      address: overrides.throttle?.address ?? rate(env, 'TESSERA_LOGIN_LIMIT_ADDRESS', '200/15m'),
    },
    trustedProxies: overrides.trustedProxies ?? proxyAddresses(env),
    trustedOrigins: overrides.trustedOrigins ?? list(env.TESSERA_TRUSTED_ORIGINS),
    allowedHosts: overrides.allowedHosts !== undefined ? overrides.allowedHosts : allowedHosts(env),
    drfTokens: overrides.drfTokens ?? oneOf(env, 'TESSERA_DRF_TOKENS', ['per-user', 'per-login'], 'per-user'),
    basicCacheTtlMs:
      overrides.basicCacheTtlMs ??
      (env.TESSERA_BASIC_CACHE_TTL === '0' ? 0 : duration(env, 'TESSERA_BASIC_CACHE_TTL', '60s')),
    jwt: overrides.jwt ?? {
      issuer: env.TESSERA_JWT_ISSUER || 'tessera',
      audience: env.TESSERA_JWT_AUDIENCE || 'tessera',
      ttlMs: clamp(duration(env, 'TESSERA_JWT_TTL', '5m'), 30_000, 3_600_000),
    },
    conjur: overrides.conjur ?? {
      ttlMs: clamp(duration(env, 'TESSERA_CONJUR_TOKEN_TTL', '8m'), 60_000, 3_600_000),
      format: oneOf(env, 'TESSERA_CONJUR_TOKEN_FORMAT', ['legacy', 'jws'], 'legacy'),
      accounts: env.TESSERA_CONJUR_ACCOUNTS === undefined ? ['default'] : list(env.TESSERA_CONJUR_ACCOUNTS),
    },
    signingKeyRotationMs:
      overrides.signingKeyRotationMs ??
      (env.TESSERA_SIGNING_KEY_ROTATION === '0' ? 0 : duration(env, 'TESSERA_SIGNING_KEY_ROTATION', '30d')),
    clockSkewMs: overrides.clockSkewMs ?? duration(env, 'TESSERA_CLOCK_SKEW', '30s'),
    tokenCacheEntries: overrides.tokenCacheEntries ?? integer(env, 'TESSERA_TOKEN_CACHE', 100_000, 0, 10_000_000),
    bodyLimitBytes: overrides.bodyLimitBytes ?? integer(env, 'TESSERA_BODY_LIMIT', 65536, 1024, 16 * 1024 * 1024),
    logLevel:
      overrides.logLevel ??
      oneOf(env, 'TESSERA_LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'silent'], 'info'),
    hashConcurrency: overrides.hashConcurrency ?? integer(env, 'TESSERA_HASH_CONCURRENCY', 2, 1, 64),
    backgroundNice: overrides.backgroundNice ?? integer(env, 'TESSERA_BACKGROUND_NICE', 10, 0, 19),
    shutdownGraceMs: overrides.shutdownGraceMs ?? duration(env, 'TESSERA_SHUTDOWN_GRACE', '10s'),
    recentLoginMs: overrides.recentLoginMs ?? duration(env, 'TESSERA_RECENT_LOGIN', '15m'),
  };
}

/** The file path of a SQLite database URL. */
export function sqlitePath(databaseUrl: string): string {
  return databaseUrl.replace(/^(sqlite|file):(\/\/)?/i, '');
}

function invalid(name: string, value: string, expected: string): TesseraError {
  return new TesseraError('CONFIG_INVALID', `${name}=${JSON.stringify(value)} is invalid: expected ${expected}`);
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max)
    throw invalid(name, text, `an integer from ${min} to ${max}`);
  return value;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `90`, `30s`, `15m`, `12h`, `14d` into milliseconds (a bare number is seconds). */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!match) return undefined;
  return Number(match[1]) * (UNITS[match[2] ?? 's'] ?? 1000);
}

function duration(env: NodeJS.ProcessEnv, name: string, fallback: string): number {
  const text = env[name] ?? fallback;
  const value = parseDuration(text);
  if (value === undefined || value <= 0) throw invalid(name, text, 'a duration such as 30s, 15m, 12h or 14d');
  return value;
}

function rate(env: NodeJS.ProcessEnv, name: string, fallback: string): ThrottleRule {
  const text = env[name] ?? fallback;
  const [count, window] = text.split('/');
  const max = Number(count);
  const windowMs = window === undefined ? undefined : parseDuration(window);
  if (!Number.isInteger(max) || max < 1 || windowMs === undefined || windowMs <= 0) {
    throw invalid(name, text, 'attempts per window, such as 20/15m');
  }
  return { max, windowMs };
}

function oneOf<T extends string>(env: NodeJS.ProcessEnv, name: string, values: readonly T[], fallback: T): T {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  if (!(values as readonly string[]).includes(text)) throw invalid(name, text, values.join(' | '));
  return text as T;
}

const COOKIE_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/;

function cookieName(env: NodeJS.ProcessEnv, name: string, fallback: string): string {
  const text = env[name] ?? fallback;
  if (!COOKIE_NAME.test(text)) throw invalid(name, text, 'a cookie name (RFC 6265 token)');
  return text;
}

/**
 * `TESSERA_TRUSTED_PROXIES`: IP addresses, compared with peers and `X-Forwarded-For` entries
 * as those are read (IPv4-mapped IPv6 as IPv4). A host name or a port could never match one,
 * so it is refused rather than silently trusting no one (issue 13, SECURITY B4).
 */
function proxyAddresses(env: NodeJS.ProcessEnv): string[] {
  return list(env.TESSERA_TRUSTED_PROXIES).map((entry) => {
    if (isIP(entry) === 0) throw invalid('TESSERA_TRUSTED_PROXIES', entry, 'IP addresses, without ports');
    return entry.toLowerCase().startsWith('::ffff:') && entry.includes('.') ? entry.slice(7) : entry;
  });
}

/** `TESSERA_ALLOWED_HOSTS`, each entry normalised; null when unset or empty. */
function allowedHosts(env: NodeJS.ProcessEnv): string[] | null {
  const entries = list(env.TESSERA_ALLOWED_HOSTS);
  if (entries.length === 0) return null;
  return entries.map((entry) => {
    const normal = normalizeAllowedHost(entry);
    if (normal === undefined) {
      throw invalid('TESSERA_ALLOWED_HOSTS', entry, 'host names, IP addresses or *.domain, without ports');
    }
    return normal;
  });
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

function list(text: string | undefined): string[] {
  return (text ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}
