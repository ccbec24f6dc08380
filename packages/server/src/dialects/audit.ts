import { AUDIT_EVENTS, type AuditEvent, type AuditRecord, isAuditEvent } from '../audit/audit-log.js';
import type { RequestContext } from '../http/context.js';
import { HttpError } from '../http/http-error.js';
import { optionalInstant, optionalInt } from '../http/query.js';
import { anyCredential, type RoutePolicy } from '../http/route-policy.js';
import type { Reply, Route } from '../http/routes.js';

/** Scope a limited credential needs to read the audit log (its holder must be an admin too). */
export const AUDIT_SCOPE = 'audit';

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;

/**
 * The audit log, for admins: `GET /v1/audit`, newest first, filtered by `event` (comma-
 * separated names), `user` (actor or subject), `actor`, `subject`, `since`, `until`, and paged
 * by `before` — the `next` link carries it. Entries hold identifiers and reasons, never a secret.
 */
export function auditRoutes(): Route[] {
  return [
    { methods: ['GET'], path: '/v1/audit', auth: 'required', scope: AUDIT_SCOPE, policy: AUDIT_POLICY, handler: list },
  ];
}

/** A read, so any credential of an admin may make it. */
const AUDIT_POLICY: RoutePolicy = { ...anyCredential(), adminOnly: 'Only an admin may read the audit log.' };

async function list(ctx: RequestContext): Promise<Reply> {
  const { query } = ctx;
  // `?event=a&event=b` arrives as an array: say how to ask instead of guessing which one counts.
  for (const [name, value] of Object.entries(query)) {
    if (typeof value !== 'string') {
      throw new HttpError(400, { [name]: ['Give this parameter once (several events: event=a,b).'] });
    }
  }
  const limit = optionalInt(query.limit, 'limit', 1, MAX_LIMIT) ?? DEFAULT_LIMIT;
  const records = await ctx.tessera.audit.query({
    ...(query.event !== undefined && { events: parseEvents(query.event) }),
    ...optional('userId', optionalInt(query.user, 'user', 1, Number.MAX_SAFE_INTEGER)),
    ...optional('actorId', optionalInt(query.actor, 'actor', 1, Number.MAX_SAFE_INTEGER)),
    ...optional('subjectId', optionalInt(query.subject, 'subject', 1, Number.MAX_SAFE_INTEGER)),
    ...optional('since', optionalInstant(query.since, 'since')),
    ...optional('until', optionalInstant(query.until, 'until')),
    ...optional('beforeId', optionalInt(query.before, 'before', 1, Number.MAX_SAFE_INTEGER)),
    limit,
  });
  const last = records.at(-1);
  const next =
    records.length === limit && last
      ? `/v1/audit?${new URLSearchParams({ ...query, before: String(last.id) }).toString()}`
      : null;
  return { body: { entries: records.map(publicRecord), next }, headers: { 'Cache-Control': 'no-store' } };
}

/** The wire form: snake_case like the rest of the API, times in ISO 8601. */
export function publicRecord(record: AuditRecord): Record<string, unknown> {
  return {
    id: record.id,
    at: new Date(record.at).toISOString(),
    event: record.event,
    actor_id: record.actorId,
    subject_id: record.subjectId,
    client_address: record.clientAddress,
    detail: record.detail,
    count: record.count,
  };
}

/** `login.failed,logout`: every name must be a known event, so a typo is a 400, not an empty page. */
function parseEvents(text: string): AuditEvent[] {
  const names = text.split(',').filter((name) => name !== '');
  const unknown = names.filter((name) => !isAuditEvent(name));
  if (names.length === 0 || unknown.length > 0) {
    const shown = unknown.map((name) => `"${name.slice(0, 40)}"`).join(', ') || 'none given';
    throw new HttpError(400, { event: [`Unknown event (${shown}). Known: ${AUDIT_EVENTS.join(', ')}.`] });
  }
  return names as AuditEvent[];
}

function optional<K extends string>(key: K, value: number | undefined): Partial<Record<K, number>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, number>);
}
