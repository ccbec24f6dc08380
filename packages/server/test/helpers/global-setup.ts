import { execFileSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { TestProject } from 'vitest/node';

const serverDir = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Before any test: build the server (the CLI tests run the real `dist/` binary), and find
 * PostgreSQL. Locally a missing PostgreSQL skips its half of the suite with a loud line;
 * under CI (`CI=true`) or `TESSERA_TEST_POSTGRES=1` it fails the run instead, so the
 * PostgreSQL tests can never silently not run there.
 */
export default async function setup(project: TestProject): Promise<void> {
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: serverDir, stdio: 'inherit' });

  const url = process.env.TESSERA_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const required = process.env.CI === 'true' || process.env.TESSERA_TEST_POSTGRES === '1';
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    project.provide('postgresUrl', url);
  } catch (error) {
    if (required) throw new Error(`PostgreSQL is required for this run but ${url} is unreachable: ${String(error)}`);
    console.warn(`\n!! PostgreSQL at ${url} is unreachable: its tests are SKIPPED (set CI=true to make this fatal)\n`);
    project.provide('postgresUrl', '');
  } finally {
    await client.end().catch(() => undefined);
  }
}

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string;
  }
}
