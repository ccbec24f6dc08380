// Better Auth as its users serve it without a framework: node:http + toNodeHandler over SQLite
// (better-sqlite3), with email+password sign-up and the API-key plugin. Started by the benchmark
// as `node server.js <database file>`; prints {"port": n} once listening on 127.0.0.1.
import { createServer } from 'node:http';
import { apiKey } from '@better-auth/api-key';
import { betterAuth } from 'better-auth';
import { getMigrations } from 'better-auth/db/migration';
import { toNodeHandler } from 'better-auth/node';
import Database from 'better-sqlite3';

const file = process.argv[2];
if (!file) throw new Error('usage: node server.js <sqlite file>');
const sqlite = new Database(file);
// The same journal settings Tessera runs SQLite with, so neither side pays for fsyncs the other skips.
sqlite.pragma('journal_mode = WAL');
sqlite.pragma('synchronous = NORMAL');

const server = createServer();
server.listen(0, '127.0.0.1', async () => {
  const { port } = server.address();
  const auth = betterAuth({
    database: sqlite,
    baseURL: `http://127.0.0.1:${port}`,
    secret: 'a benchmark-only secret of thirty-two characters or more',
    emailAndPassword: { enabled: true },
    // Throttling would turn a load test into a 429 test, on either side; Tessera's whoami has none.
    rateLimit: { enabled: false },
    telemetry: { enabled: false },
    plugins: [apiKey({ enableSessionForAPIKeys: true, rateLimit: { enabled: false } })],
  });
  const { runMigrations } = await getMigrations(auth.options);
  await runMigrations();
  server.on('request', toNodeHandler(auth));
  process.stdout.write(`${JSON.stringify({ port })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
