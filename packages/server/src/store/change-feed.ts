import { createHash, randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import type pg from 'pg';
import type { ChangeNotice, RevocationEvents } from '../credentials/revocation-events.js';
import type { Database } from './database.js';

/** How long to wait before listening again after the connection dropped. */
const RECONNECT_MS = 1_000;

/**
 * Tells the other instances on one PostgreSQL database what this one changed, with
 * LISTEN/NOTIFY, so a credential revoked here is refused there at once instead of after
 * their caches' one-second re-check (SECURITY I1 "no stale cache on any instance"). One
 * channel per schema: deployments sharing a database in separate schemas never hear each
 * other. The re-check stays as the backstop for a notice lost while a connection was down.
 */
export class PostgresChangeFeed {
  readonly #instance = randomBytes(8).toString('hex');
  readonly #channel: string;
  readonly #pending = new Set<Promise<unknown>>();
  #client: pg.Client | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(
    private readonly database: Database,
    private readonly connectionString: string,
    schema: string,
    private readonly events: RevocationEvents,
  ) {
    // A digest keeps any schema name inside PostgreSQL's 63-byte identifier limit.
    this.#channel = `tessera_changes_${createHash('sha256').update(schema).digest('hex').slice(0, 32)}`;
  }

  /** Listens for the other instances' changes and relays this one's to them. */
  static async start(database: Database, events: RevocationEvents): Promise<PostgresChangeFeed | undefined> {
    if (!database.postgres) return undefined;
    const { connectionString, schema } = database.postgres;
    const feed = new PostgresChangeFeed(database, connectionString, schema, events);
    try {
      await feed.#listen();
    } catch (error) {
      await feed.close(); // no reconnection loop outliving a start that failed
      throw error;
    }
    events.relayTo((notice) => feed.#publish(notice));
    return feed;
  }

  /** Sends what is still queued, then stops listening. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    await Promise.allSettled([...this.#pending]);
    await this.#client?.end().catch(() => undefined);
  }

  async #listen(): Promise<void> {
    const { default: driver } = await import('pg');
    // Keep-alive probes find a connection a failover or a NAT silently dropped.
    const client = new driver.Client({ connectionString: this.connectionString, keepAlive: true });
    client.on('notification', (message) => {
      if (message.channel === this.#channel) this.#receive(message.payload);
    });
    // A dropped connection must not take the process down: listen again shortly. Until
    // then the caches' one-second re-check is what bounds a stale answer.
    client.on('error', () => undefined);
    this.#client = client;
    try {
      await client.connect();
      if (this.#closed) throw new Error('the change feed was closed while connecting');
      await client.query(`listen "${this.#channel}"`);
    } catch (error) {
      this.#client = undefined;
      await client.end().catch(() => undefined);
      throw error;
    }
    client.on('end', () => this.#reconnectLater());
  }

  /** One attempt at a time, once a second, until listening again or closed. */
  #reconnectLater(): void {
    if (this.#closed || this.#timer !== undefined) return;
    this.#client = undefined;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#listen().catch((error: unknown) => {
        if (this.#closed) return;
        process.emitWarning(`change feed: cannot listen on PostgreSQL: ${String(error)}`, {
          code: 'TESSERA_CHANGE_FEED',
        });
        this.#reconnectLater();
      });
    }, RECONNECT_MS);
    this.#timer.unref();
  }

  #publish(notice: ChangeNotice): void {
    const payload = JSON.stringify({ from: this.#instance, ...notice });
    const sent = sql`select pg_notify(${this.#channel}, ${payload})`
      .execute(this.database.db)
      .catch(() => undefined) // the re-check covers a notice that could not be sent
      .finally(() => this.#pending.delete(sent));
    this.#pending.add(sent);
  }

  #receive(payload: string | undefined): void {
    const notice = parseNotice(payload);
    if (notice && notice.from !== this.#instance) this.events.deliver(notice.notice);
  }
}

/** A notice as another instance sent it; anything else on the channel is ignored. */
function parseNotice(payload: string | undefined): { from: unknown; notice: ChangeNotice } | undefined {
  let value: unknown;
  try {
    value = JSON.parse(payload ?? '');
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { from, type, id, jti } = value as Record<string, unknown>;
  if ((type === 'credential' || type === 'user') && Number.isSafeInteger(id))
    return { from, notice: { type, id: id as number } };
  if (type === 'jti' && typeof jti === 'string') return { from, notice: { type, jti } };
  if (type === 'keyring') return { from, notice: { type } };
  return undefined;
}
