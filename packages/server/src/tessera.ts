import { AuditLog } from './audit/audit-log.js';
import { Authenticator } from './auth/authenticate.js';
import { PasswordLogin } from './auth/password-login.js';
import { type Clock, systemClock } from './clock.js';
import type { TesseraConfig } from './config.js';
import { CredentialStore } from './credentials/credential-store.js';
import { CredentialIssuer } from './credentials/issuer.js';
import { JtiDenyList } from './credentials/jti-deny-list.js';
import { RevocationEvents } from './credentials/revocation-events.js';
import { bindMasterKey, databaseKeyOwner } from './crypto/key-binding.js';
import {
  createMasterKeyFile,
  decodeMasterKey,
  findMasterKey,
  loadMasterKey,
  type MasterKeySource,
} from './crypto/master-key.js';
import { type Argon2Params, PasswordHasher } from './crypto/passwords.js';
import { deriveKey, Sealer } from './crypto/seal.js';
import { TesseraError } from './errors.js';
import { BasicScheme } from './schemes/basic.js';
import { BearerJwtScheme } from './schemes/bearer-jwt.js';
import { ConjurTokenScheme } from './schemes/conjur-token.js';
import { DrfTokenScheme } from './schemes/drf-token.js';
import { FrappeTokenScheme } from './schemes/frappe-token.js';
import { PersonalTokenScheme } from './schemes/personal-token.js';
import { SessionScheme } from './schemes/session.js';
import { SessionStore } from './sessions/session-store.js';
import { Keyring } from './signing/keyring.js';
import { PostgresChangeFeed } from './store/change-feed.js';
import { type Database, openDatabase } from './store/database.js';
import { migrate } from './store/migrator.js';
import { LoginThrottle } from './throttle/login-throttle.js';
import { Users } from './users/users.js';

/** The assembled core: storage, crypto and services, with no HTTP in sight. */
export interface Tessera {
  readonly config: TesseraConfig;
  readonly database: Database;
  /** The migrations this open applied (empty when the schema was already current). */
  readonly migrationsApplied: string[];
  readonly clock: Clock;
  readonly sealer: Sealer;
  readonly hasher: PasswordHasher;
  readonly audit: AuditLog;
  /** Changes caches must hear of; on PostgreSQL shared with every instance. */
  readonly events: RevocationEvents;
  readonly users: Users;
  readonly sessions: SessionStore;
  readonly credentials: CredentialStore;
  readonly issuer: CredentialIssuer;
  readonly sessionScheme: SessionScheme;
  readonly keyring: Keyring;
  readonly jwtScheme: BearerJwtScheme;
  /** JWT ids revoked before their expiry (SECURITY F7). */
  readonly jtiDenyList: JtiDenyList;
  readonly passwordLogin: PasswordLogin;
  /** Login attempt counters, for credentials checked outside {@link PasswordLogin} (Conjur API keys). */
  readonly throttle: LoginThrottle;
  readonly authenticator: Authenticator;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Replaces the system clock, for tests of expiry. */
  clock?: Clock;
  /** Run migrations on open (default true; `tessera migrate` runs them explicitly). */
  migrate?: boolean;
  /** argon2 parameters; tests may lower them, production keeps the default. */
  argon2?: Argon2Params;
}

/**
 * Opens the database (migrating it), loads the master key and wires the services.
 *
 * @throws TesseraError `MASTER_KEY_INVALID`, `MASTER_KEY_FILE_INSECURE`, `MASTER_KEY_REQUIRED`,
 *   `MASTER_KEY_MISMATCH`, `DATABASE_URL_INVALID`, `DATABASE_FILE_INVALID`,
 *   `DATABASE_FILE_INSECURE`, or the PostgreSQL driver's own connection error.
 */
export async function openTessera(config: TesseraConfig, options: OpenOptions = {}): Promise<Tessera> {
  // An existing key first: refusing to start over a bad key must not leave a half-made database.
  let masterKey = await findMasterKey(config.masterKey);
  const previous = config.previousMasterKeys.map((k, i) => decodeMasterKey(k, `TESSERA_PREVIOUS_MASTER_KEYS[${i}]`));
  const database = await openDatabase(config.databaseUrl);
  let migrationsApplied: string[] = [];
  try {
    if (options.migrate !== false) migrationsApplied = await migrate(database);
    // A verifier opening the server's database (migrate: false) binds only once the server
    // has made the `meta` table; a database that old is checked by the server on its start.
    const bind =
      options.migrate !== false || (await database.db.introspection.getTables()).some((table) => table.name === 'meta');
    if (!masterKey)
      masterKey = bind ? await createKeyBeside(database, config.masterKey) : await loadMasterKey(config.masterKey);
    if (bind) await bindMasterKey(database, masterKey, previous);
  } catch (error) {
    await database.close();
    throw error;
  }

  const clock = options.clock ?? systemClock;
  const sealer = new Sealer([masterKey, ...previous]);
  const hasher = new PasswordHasher({
    concurrency: config.hashConcurrency,
    ...(options.argon2 && { params: options.argon2 }),
  });
  const audit = new AuditLog(database, clock);
  const events = new RevocationEvents();
  const sessions = new SessionStore(
    database,
    clock,
    { idleMs: config.session.idleMs, absoluteMs: config.session.absoluteMs },
    deriveKey(masterKey, 'tessera csrf v1'),
    events,
    config.tokenCacheEntries,
  );
  const users = new Users(database, hasher, sessions, audit, clock, events);
  const throttle = new LoginThrottle(database, clock, config.throttle);
  const passwordLogin = new PasswordLogin(users, hasher, throttle, sessions, audit, clock);
  const credentials = new CredentialStore(database, clock, events, config.tokenCacheEntries);
  const issuer = new CredentialIssuer(credentials, sealer, audit, config.drfTokens, events);
  const keyring = new Keyring(
    database,
    sealer,
    clock,
    {
      rotationMs: config.signingKeyRotationMs,
      verifyWindowMs: Math.max(config.jwt.ttlMs, config.conjur.ttlMs) + config.clockSkewMs,
    },
    audit,
    events,
  );
  let changeFeed: PostgresChangeFeed | undefined;
  try {
    changeFeed = await PostgresChangeFeed.start(database, events);
    await keyring.start();
  } catch (error) {
    await changeFeed?.close();
    await database.close();
    throw error;
  }
  const signed = { skewMs: config.clockSkewMs, cacheEntries: config.tokenCacheEntries };
  const jtiDenyList = new JtiDenyList(database, clock, config.clockSkewMs);
  const jwtScheme = new BearerJwtScheme(database, keyring, clock, { ...config.jwt, ...signed }, events, jtiDenyList);
  const sessionScheme = new SessionScheme(sessions, config.session.cookieName);
  const authenticator = new Authenticator([
    new DrfTokenScheme(credentials),
    new FrappeTokenScheme(credentials),
    new BasicScheme(
      credentials,
      users,
      passwordLogin,
      clock,
      { ttlMs: config.basicCacheTtlMs, maxEntries: 10_000 },
      events,
    ),
    new ConjurTokenScheme(database, keyring, users, clock, { ttlMs: config.conjur.ttlMs, ...signed }, events),
    new PersonalTokenScheme(credentials),
    jwtScheme,
    sessionScheme,
  ]);

  return {
    config,
    database,
    migrationsApplied,
    clock,
    sealer,
    hasher,
    audit,
    users,
    sessions,
    credentials,
    issuer,
    sessionScheme,
    keyring,
    jwtScheme,
    jtiDenyList,
    passwordLogin,
    throttle,
    authenticator,
    events,
    async close() {
      keyring.stop();
      await changeFeed?.close();
      await database.close();
    },
  };
}

/**
 * Makes the key file on a first start, but never beside a database that already has data:
 * a lost key file replaced by a new key would leave every sealed value unreadable (issue 14).
 */
async function createKeyBeside(database: Database, source: MasterKeySource): Promise<Buffer> {
  if (source.kind !== 'file') throw new TypeError('only a key file can be missing');
  const owner = await databaseKeyOwner(database);
  if (owner !== undefined) {
    throw new TesseraError(
      'MASTER_KEY_MISMATCH',
      `master key file ${source.path} does not exist, but the database ${database.location} already holds data ` +
        `(made under key id ${owner}): restore the key file it was made with; a new key cannot open it`,
    );
  }
  return createMasterKeyFile(source.path);
}
