import type { TestServer } from './harness.js';
import { type ProcessResult, runProcess } from './process.js';

/** Standard base64 of text (as UTF-8) or bytes, for hand-built headers. */
export function base64(value: string | Buffer): string {
  return Buffer.from(value).toString('base64');
}

/** `Basic base64(left:right)`, the left and right sides encoded as UTF-8 (RFC 7617 `charset="UTF-8"`). */
export function basicHeader(left: string, right: string): string {
  return `Basic ${Buffer.from(`${left}:${right}`, 'utf8').toString('base64')}`;
}

/** Every row of the `credentials` table, all columns, optionally of one kind, in id order. */
export function credentialRows(server: TestServer, kind?: string) {
  let query = server.tessera.database.db.selectFrom('credentials').selectAll().orderBy('id');
  if (kind !== undefined) query = query.where('kind', '=', kind);
  return query.execute();
}

/** Every row of the `audit_log` table, all columns. */
export function auditRows(server: TestServer) {
  return server.tessera.database.db.selectFrom('audit_log').selectAll().orderBy('id').execute();
}

/** The `table.column` names of the rows whose value, as text, contains `secret`. */
export function columnsContaining(rows: ReadonlyArray<Record<string, unknown>>, secret: string): string[] {
  const hits: string[] = [];
  rows.forEach((row, index) => {
    for (const [column, value] of Object.entries(row)) {
      if (value !== null && String(value).includes(secret)) hits.push(`row ${index}.${column}`);
    }
  });
  return hits;
}

/** The fenced code blocks of one language in a markdown document, in order. */
export function fencedBlocks(markdown: string, language: string): string[] {
  const fence = new RegExp(`^\`\`\`${language}[ \\t]*\\n([\\s\\S]*?)^\`\`\`[ \\t]*$`, 'gm');
  return [...markdown.matchAll(fence)].map((match) => match[1] ?? '');
}

/** Runs a Python program given as text on standard input, to completion. */
export function runPython(program: string): Promise<ProcessResult> {
  return runProcess('python3', ['-'], { input: program });
}
