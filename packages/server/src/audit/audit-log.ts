import type { Clock } from '../clock.js';
import type { Database } from '../store/database.js';

/** Security events (DESIGN "audit log"; SECURITY B6). Names are stable; add, never rename. */
export type AuditEvent =
  | 'login.succeeded'
  | 'login.failed'
  | 'login.throttled'
  | 'logout'
  | 'session.expired'
  | 'user.created'
  | 'user.updated'
  | 'user.deleted'
  | 'user.password_changed'
  | 'user.roles_changed'
  | 'user.activated'
  | 'user.deactivated'
  | 'credential.created'
  | 'credential.rotated'
  | 'credential.revoked'
  | 'signing_key.created';

export interface AuditEntry {
  actorId?: number | null;
  subjectId?: number | null;
  clientAddress?: string | null;
  /** Event details. Callers pass identifiers and reasons, never a secret or password. */
  detail?: Record<string, unknown>;
}

/** Appends security events to the `audit_log` table. */
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
}
