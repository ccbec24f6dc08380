import type { Command } from 'commander';
import { AUDIT_EVENTS, type AuditEvent, type AuditRecord, isAuditEvent } from '../audit/audit-log.js';
import { publicRecord } from '../dialects/audit.js';
import type { Tessera } from '../tessera.js';
import { CliError, type DatabaseOption, withTessera } from './common.js';
import { io } from './io.js';

/** How often `audit tail --follow` looks for new events. */
const POLL_MS = 1_000;
/**
 * On PostgreSQL an id is taken at insert but seen at commit, so a row may appear below ids
 * already printed: each poll looks this far back and skips what it has shown.
 */
const LOOK_BACK_IDS = 500;

interface TailOptions extends DatabaseOption {
  lines: string;
  event?: string;
  user?: string;
  follow?: boolean;
  json?: boolean;
}

/** `tessera audit tail`: the newest audit events, oldest first, optionally followed. */
export function registerAuditCommands(program: Command): void {
  const audit = program.command('audit').description('read the audit log of security events');

  audit
    .command('tail')
    .description('print the newest audit events (logins, logouts, credentials, keys, user changes)')
    .option('-n, --lines <count>', 'how many events to print first', '20')
    .option('--event <names>', `comma-separated event names (${AUDIT_EVENTS.join(', ')})`)
    .option('--user <username|id>', 'only events where this user acted or was acted on')
    .option('-f, --follow', 'keep printing new events as they are recorded, until interrupted')
    .option('--json', 'print one JSON object per line')
    .option('--database <url>', 'SQLite path or postgres:// URL (env TESSERA_DATABASE_URL)')
    .action(async (options: TailOptions) => {
      const lines = /^\d{1,4}$/.test(options.lines) ? Number(options.lines) : Number.NaN;
      if (!(lines >= 0 && lines <= 1000)) throw new CliError(`--lines ${options.lines} is not a count from 0 to 1000`);
      const events = options.event === undefined ? undefined : parseEvents(options.event);
      await withTessera(options, async (tessera) => {
        const userId = options.user === undefined ? undefined : await resolveUser(tessera, options.user);
        const filter = { ...(events && { events }), ...(userId !== undefined && { userId }) };
        // --json prints what `GET /v1/audit` answers (README "Native API"): one shape for both.
        const print = (record: AuditRecord) =>
          io().stdout.write(`${options.json ? JSON.stringify(publicRecord(record)) : formatRecord(record)}\n`);

        const newest = lines === 0 ? [] : await tessera.audit.query({ ...filter, limit: lines });
        for (const record of newest.reverse()) print(record);
        if (!options.follow) return;

        // The id of the newest event seen so far: even with no match yet, start from "now".
        let lastId = newest.at(-1)?.id ?? (await tessera.audit.query({ limit: 1 }))[0]?.id ?? 0;
        const shown = new Set(newest.map((record) => record.id));
        // What is already recorded was either printed above or left out by --lines: only what
        // is recorded from now on is followed, so the look-back below never prints old events.
        const before = await tessera.audit.query({
          ...filter,
          afterId: Math.max(0, lastId - LOOK_BACK_IDS),
          limit: 1000,
        });
        for (const record of before) shown.add(record.id);
        let stopped = false;
        const stop = () => {
          stopped = true;
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        io().stderr.write('following the audit log; interrupt (Ctrl-C) to stop\n');
        while (!stopped) {
          const from = Math.max(0, lastId - LOOK_BACK_IDS);
          for (const record of await tessera.audit.query({ ...filter, afterId: from, limit: 1000 })) {
            if (shown.has(record.id)) continue;
            print(record);
            shown.add(record.id);
            lastId = Math.max(lastId, record.id);
          }
          for (const id of shown) if (id <= lastId - LOOK_BACK_IDS) shown.delete(id);
          await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        }
      });
    });
}

function parseEvents(text: string): AuditEvent[] {
  const names = text.split(',').map((name) => name.trim());
  const unknown = names.filter((name) => !isAuditEvent(name));
  if (unknown.length > 0) {
    throw new CliError(`unknown audit event ${unknown.join(', ')}; known: ${AUDIT_EVENTS.join(', ')}`);
  }
  return names as AuditEvent[];
}

/** A username, or an id; a name made of digits that is also another user's id is ambiguous. */
async function resolveUser(tessera: Tessera, text: string): Promise<number> {
  const byName = await tessera.users.findByUsername(text);
  const byId = /^\d{1,15}$/.test(text) ? await tessera.users.findById(Number(text)) : undefined;
  if (byName && byId && byName.id !== byId.id) {
    throw new CliError(`${text} is both a username and another user's id; give the other user's name`);
  }
  const user = byName ?? byId;
  if (!user) throw new CliError(`no user ${text}`);
  return user.id;
}

/** `2026-11-22T15:43:10.123Z  login.failed  actor=-  subject=3  from=127.0.0.1  {"reason":…}` */
function formatRecord(record: AuditRecord): string {
  return [
    new Date(record.at).toISOString(),
    record.event.padEnd(21),
    `actor=${record.actorId ?? '-'}`,
    `subject=${record.subjectId ?? '-'}`,
    `from=${record.clientAddress ?? '-'}`,
    record.detail ? JSON.stringify(record.detail) : '',
    record.count > 1 ? `(x${record.count})` : '',
  ]
    .join('  ')
    .trimEnd();
}
