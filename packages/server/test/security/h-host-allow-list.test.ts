import pino from 'pino';
import { afterEach, expect, it } from 'vitest';
import { createHttpServer, type TesseraServer } from '../../src/http/server.js';
import { describeEachDatabase, PASSWORD, startServer, type TestServer } from '../helpers/harness.js';
import { type RawResponse, rawRequest } from '../helpers/requests.js';

/**
 * Issue 13, "also observed": no Host allow-list, so a DNS-rebinding page (its own name made to
 * resolve to 127.0.0.1) could drive a local Tessera as its own origin (SECURITY H "a poisoned
 * Host header"). `TESSERA_ALLOWED_HOSTS` now names the hosts answered; bound to loopback and
 * unset, only the loopback names are. `/healthz` answers any Host: load balancers probe it by IP.
 */
describeEachDatabase('item 2: the Host allow-list (SECURITY H)', (kind) => {
  let server: TestServer;
  let extra: TesseraServer | undefined;
  afterEach(async () => {
    await extra?.close();
    extra = undefined;
    await server.close();
  });

  const port = () => new URL(server.url).port;
  const get = (path: string, host: string) => rawRequest(server, { path, headers: { host } });
  const login = (host: string) =>
    rawRequest(server, {
      method: 'POST',
      path: '/authentication/login/',
      headers: { host, 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password: PASSWORD }),
    });
  const expectRefused = (response: RawResponse) => {
    expect(response.status).toBe(400);
    expect(response.headers['content-type']).toBe('application/json');
    expect(JSON.parse(response.body).detail).toMatch(/Host/);
    expect(response.body).not.toContain('evil');
    expect(response.headers['set-cookie']).toBeUndefined();
  };

  it('item 2: bound to 127.0.0.1 with no list, answers localhost, 127.0.0.1 and [::1] on any port, and 400 to other names', async () => {
    server = await startServer(kind);
    await server.createUser('alice', PASSWORD);
    for (const host of [`127.0.0.1:${port()}`, `localhost:${port()}`, 'localhost', '[::1]:1']) {
      expect((await login(host)).status, host).toBe(200);
    }
    for (const host of ['evil.example', `evil.example:${port()}`, 'localhost.evil.example', '127.0.0.1.evil.example']) {
      expectRefused(await login(host));
      expectRefused(await get('/v1/me', host));
      expectRefused(await get('/no-such-path', host));
    }
  });

  it('item 2: /healthz answers any Host, so probes by IP address keep working', async () => {
    server = await startServer(kind);
    for (const host of ['evil.example', '10.1.2.3:8000']) {
      const response = await get('/healthz', host);
      expect(response.status).toBe(200);
      expect(JSON.parse(response.body)).toEqual({ status: 'ok' });
      expect((await get('//healthz/', host)).status).toBe(200);
    }
  });

  it('item 2: a configured list replaces the loopback names; *.domain covers its subdomains only', async () => {
    server = await startServer(kind, { allowedHosts: ['auth.example', '*.corp.example'] });
    await server.createUser('alice', PASSWORD);
    for (const host of ['auth.example', 'AUTH.example:443', 'eu.corp.example']) {
      expect((await login(host)).status, host).toBe(200);
    }
    for (const host of ['corp.example', `127.0.0.1:${port()}`, 'evil.example']) {
      expectRefused(await login(host));
    }
  });

  it('item 2: bound beyond loopback with no list, answers any Host and warns once at start', async () => {
    server = await startServer(kind);
    await server.createUser('alice', PASSWORD);
    const lines: string[] = [];
    const logger = pino({ level: 'info', base: null }, { write: (line: string) => void lines.push(line) });
    extra = createHttpServer(server.tessera, { logger });
    const address = await extra.listen(0, '0.0.0.0');
    const warnings = () => lines.filter((line) => line.includes('TESSERA_ALLOWED_HOSTS'));
    expect(warnings()).toHaveLength(1);
    expect(JSON.parse(warnings()[0] ?? '{}').level).toBe(40);
    const wide = { ...server, url: `http://127.0.0.1:${address.port}` };
    for (const host of ['evil.example', 'auth.example:8000']) {
      const response = await rawRequest(wide, {
        method: 'POST',
        path: '/authentication/login/',
        headers: { host, 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'alice', password: PASSWORD }),
      });
      expect(response.status).toBe(200);
    }
    expect(warnings()).toHaveLength(1);
  });
});
