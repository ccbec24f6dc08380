import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CliResult, cliEnv, runCli, type ServeProcess, startServe } from './cli.js';
import { type DatabaseKind, freshDatabase, PASSWORD, TEST_MASTER_KEY } from './harness.js';

/**
 * A fresh database with `tessera serve` processes over it: for tests of the real binary as
 * operators run it (signals, crashes, several processes, memory).
 */
export interface ServeBed {
  databaseUrl: string;
  env: NodeJS.ProcessEnv;
  /** Runs a CLI command against the bed's database; throws unless it exits 0. */
  cli(args: string[], input?: string): Promise<CliResult>;
  /** Starts one more `tessera serve` on the bed's database. */
  serve(extraEnv?: Record<string, string>): Promise<ServeProcess>;
  /** SIGKILLs every process still running, removes the database. */
  dispose(): Promise<void>;
}

/** Logins of one account from one address, in parallel and in bulk, never throttled. */
export const NO_LOGIN_LIMITS = {
  TESSERA_LOGIN_LIMIT_ACCOUNT: '100000/15m',
  TESSERA_LOGIN_LIMIT_ADDRESS: '100000/15m',
};

export async function serveBed(kind: DatabaseKind, extraEnv: Record<string, string> = {}): Promise<ServeBed> {
  const database = await freshDatabase(kind);
  const cwd = mkdtempSync(join(tmpdir(), 'tessera-bed-'));
  const env = cliEnv({
    TESSERA_DATABASE_URL: database.url,
    TESSERA_MASTER_KEY: TEST_MASTER_KEY,
    TESSERA_LOG_LEVEL: 'info',
    ...extraEnv,
  });
  const started: ServeProcess[] = [];
  return {
    databaseUrl: database.url,
    env,
    async cli(args, input) {
      const result = await runCli(args, { cwd, env, ...(input !== undefined && { input }) });
      if (result.code !== 0) throw new Error(`tessera ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
      return result;
    },
    async serve(more = {}) {
      const server = await startServe([], { cwd, env: { ...env, ...more } });
      started.push(server);
      return server;
    },
    async dispose() {
      for (const server of started) server.kill();
      await Promise.all(started.map((server) => server.exited(10_000).catch(() => undefined)));
      rmSync(cwd, { recursive: true, force: true });
      await database.dispose();
    },
  };
}

/** Makes a user with {@link PASSWORD} through the CLI. */
export async function createUserByCli(bed: ServeBed, username: string): Promise<void> {
  await bed.cli(['user', 'create', username, '--password-stdin'], `${PASSWORD}\n`);
}

/** The resident set size of a running process, in KiB, from `/proc/<pid>/status` (Linux). */
export function residentKiB(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]);
}

/** The value at quantile `q` (0–1) of some numbers, nearest rank. */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
}
