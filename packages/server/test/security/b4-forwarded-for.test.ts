import { afterEach, expect, it } from 'vitest';
import { auditRows } from '../helpers/credentials.js';
import { describeEachDatabase, PASSWORD, startServer, type TestServer } from '../helpers/harness.js';
import { api } from '../helpers/requests.js';

/**
 * Issue 13, "also observed": a trusted proxy's `X-Forwarded-For` entries were taken as they
 * came, so `1.2.3.4:5` and `1.2.3.4:6` were two clients with two throttle buckets, and junk
 * made a bucket of its own (SECURITY B4). Entries are now parsed as IP addresses: the port of
 * `a.b.c.d:port` is dropped, and an entry that is no address counts as the proxy itself.
 */
const HOUR = 3_600_000;

describeEachDatabase('item 3: X-Forwarded-For entries are IP addresses (SECURITY B4)', (kind) => {
  let server: TestServer;
  afterEach(() => server.close());

  async function start(): Promise<void> {
    server = await startServer(kind, {
      trustedProxies: ['127.0.0.1'],
      throttle: { account: { max: 1000, windowMs: HOUR }, address: { max: 3, windowMs: HOUR } },
    });
    await server.createUser('user', PASSWORD);
  }

  async function loginStatus(username: string, password: string, forwardedFor: string): Promise<number> {
    const response = await api(server, 'POST', '/authentication/login/', {
      body: { username, password },
      headers: { 'x-forwarded-for': forwardedFor },
    });
    await response.arrayBuffer();
    return response.status;
  }

  it('item 3: 1.2.3.4:5, 1.2.3.4:6 and 1.2.3.4:7 share one throttle bucket, so the fourth attempt is 429', async () => {
    await start();
    for (const port of [5, 6, 7])
      expect(await loginStatus(`guess${port}`, 'a wrong password', `1.2.3.4:${port}`)).toBe(400);
    // The right password from a fourth port of the same client: the client's limit is reached.
    expect(await loginStatus('user', PASSWORD, '1.2.3.4:8')).toBe(429);
    expect(await loginStatus('user', PASSWORD, '1.2.3.4')).toBe(429);
    // Another client behind the same proxy is not held up.
    expect(await loginStatus('user', PASSWORD, '192.0.2.10:5')).toBe(200);

    const keys = (await server.tessera.database.db.selectFrom('throttle').select('key').execute()).map((r) => r.key);
    expect(keys.filter((key) => key.startsWith('address:')).sort()).toEqual(['address:1.2.3.4', 'address:192.0.2.10']);
    const failed = (await auditRows(server)).filter((row) => row.event === 'login.failed');
    expect(failed.map((row) => row.client_address)).toEqual(['1.2.3.4', '1.2.3.4', '1.2.3.4']);
  });

  it('item 3: entries that are no address count as the proxy itself, never as new clients', async () => {
    await start();
    for (const junk of ['unknown', 'not-an-ip', '1.2.3.4:99999']) {
      expect(await loginStatus(`guess-${junk}`, 'a wrong password', junk)).toBe(400);
    }
    expect(await loginStatus('user', PASSWORD, 'something-else')).toBe(429);
    const keys = (await server.tessera.database.db.selectFrom('throttle').select('key').execute()).map((r) => r.key);
    expect(keys.filter((key) => key.startsWith('address:'))).toEqual(['address:127.0.0.1']);
  });
});
