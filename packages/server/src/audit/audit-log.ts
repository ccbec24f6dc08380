import { createHash } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { Database } from '../store/database.js';

/** Security events (DESIGN "audit log"; SECURITY B6). Names are stable; add, never rename. */
export const AUDIT_EVENTS = [
  'login.succeeded',
  'login.failed',
  'login.throttled',
  'logout',
  'session.expired',
  'user.created',
  'user.updated',
  'user.deleted',
  'user.password_changed',
  'user.roles_changed',
  'user.activated',
  'user.deactivated',
  'user.signed_out_everywhere',
  'credential.created',
  'credential.rotated',
  'credential.revoked',
  'signing_key.created',
] as const;

export type AuditEvent = (typeof AUDIT_EVENTS)[number];

export function isAuditEvent(name: string): name is AuditEvent {
  return (AUDIT_EVENTS as readonly string[]).includes(name);
}

export interface AuditEntry {
  actorId?: number | null;
  subjectId?: number | null;
  clientAddress?: string | null;
  /** Event details. Callers pass identifiers and reasons, never a secret or password. */
  detail?: Record<string, unknown>;
}

/** One recorded event, as the audit API and CLI show it. */
export interface AuditRecord {
  id: number;
  /** Milliseconds since the epoch. */
  at: number;
  event: string;
  actorId: number | null;
  subjectId: number | null;
  clientAddress: string | null;
  detail: Record<string, unknown> | null;
  /** How many occurrences the record stands for: above 1 only for a coalesced one. */
  count: number;
}

/** Which records to read, newest first. Every field narrows; none means all. */
export interface AuditFilter {
  events?: readonly AuditEvent[];
  actorId?: number;
  subjectId?: number;
  /** Records where the user is the actor or the subject. */
  userId?: number;
  /** Milliseconds since the epoch, inclusive. */
  since?: number;
  /** Milliseconds since the epoch, exclusive. */
  until?: number;
  /** Only records older than this id: the cursor of the previous page. */
  beforeId?: number;
  /** Only records newer than this id, oldest first: what `audit tail --follow` polls for. */
  afterId?: number;
  limit: number;
}

/** Appends security events to the `audit_log` table and reads them back. */
export class AuditLog {
  constructor(
    private readonly database: Database,
    private readonly clock: Clock,
  ) {}

  async record(event: AuditEvent, entry: AuditEntry = {}): Promise<void> {
    await this.database.db
      .insertInto('audit_log')
      .values({
        at: this.clock(),
        event,
        actor_id: entry.actorId ?? null,
        subject_id: entry.subjectId ?? null,
        client_address: entry.clientAddress ?? null,
        detail: entry.detail ? JSON.stringify(entry.detail) : null,
      })
      .execute();
  }

  /**
   * Records a repeatable event once per `key` and time window: the first occurrence inserts a
   * row, later ones in the same window only add to its `count` (one atomic upsert on a unique
   * index, so parallel instances agree). For refused attempts (`login.throttled`): an attacker
   * who keeps trying must not grow the table by a row per try (issue 13, "also observed").
   *
   * @param key what makes occurrences the same, e.g. the throttle's account and address keys.
   */
  async recordRepeated(event: AuditEvent, key: string, windowMs: number, entry: AuditEntry = {}): Promise<void> {
    const at = this.clock();
    const window = Math.floor(at / windowMs);
    // Hashed: the key holds submitted text, and a unique index wants short, bounded rows.
    const coalesceKey = createHash('sha256').update(`${event}\n${window}\n${key}`).digest('base64url');
    await this.database.db
      .insertInto('audit_log')
      .values({
        at,
        event,
        actor_id: entry.actorId ?? null,
        subject_id: entry.subjectId ?? null,
        client_address: entry.clientAddress ?? null,
        detail: entry.detail ? JSON.stringify(entry.detail) : null,
        coalesce_key: coalesceKey,
      })
      .onConflict((oc) => oc.column('coalesce_key').doUpdateSet((eb) => ({ count: eb('audit_log.count', '+', 1) })))
      .execute();
  }

  /**
   * Records matching the filter: newest first, or oldest first when `afterId` is given.
   * Paging is by id (keyset), so a page stays correct while new events arrive.
   */
  async query(filter: AuditFilter): Promise<AuditRecord[]> {
    let query = this.database.db.selectFrom('audit_log').selectAll();
    if (filter.events && filter.events.length > 0) query = query.where('event', 'in', [...filter.events]);
    if (filter.actorId !== undefined) query = query.where('actor_id', '=', filter.actorId);
    if (filter.subjectId !== undefined) query = query.where('subject_id', '=', filter.subjectId);
    const { userId } = filter;
    if (userId !== undefined) {
      query = query.where((eb) => eb.or([eb('actor_id', '=', userId), eb('subject_id', '=', userId)]));
    }
    if (filter.since !== undefined) query = query.where('at', '>=', filter.since);
    if (filter.until !== undefined) query = query.where('at', '<', filter.until);
    if (filter.beforeId !== undefined) query = query.where('id', '<', filter.beforeId);
    if (filter.afterId !== undefined) query = query.where('id', '>', filter.afterId);
    const rows = await query
      .orderBy('id', filter.afterId !== undefined ? 'asc' : 'desc')
      .limit(filter.limit)
      .execute();
    return rows.map((row) => ({
      id: Number(row.id),
      at: row.at,
      event: row.event,
      actorId: row.actor_id === null ? null : Number(row.actor_id),
      subjectId: row.subject_id === null ? null : Number(row.subject_id),
      clientAddress: row.client_address,
      detail: row.detail === null ? null : (JSON.parse(row.detail) as Record<string, unknown>),
      count: Number(row.count),
    }));
  }
}
