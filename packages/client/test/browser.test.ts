import { rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, startServer, type TestServer } from '../../server/test/helpers/harness.js';
import { buildClient } from './helpers.js';

/** The page: imports the built ES module bundle and exposes the seed 000 flow to page.evaluate. */
const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>tessera client</title></head><body>
<script type="module">
import { Client, SessionAuthentication, isHTTPError } from '/dist/index.js';
window.runFlow = async (username, password) => {
  const out = {};
  const client = new Client({ baseUrl: location.origin, auth: new SessionAuthentication() });
  out.login = await client.post('/authentication/login/', { json: { username, password } });
  out.visibleCookies = document.cookie.split('; ').map((c) => c.split('=')[0]).sort();
  out.users = await client.get('/users/users/');
  out.patched = await client.patch('/users/users/' + out.login.id, { json: { email: 'browser@example.com' } });
  const noCsrf = new Client({ baseUrl: location.origin, auth: new SessionAuthentication({ csrfHeaderName: 'X-Nope' }) });
  out.withoutCsrf = await noCsrf.patch('/users/users/' + out.login.id, { json: { email: 'x@example.com' } })
    .then(() => 'accepted', (e) => (isHTTPError(e) ? e.status : String(e)));
  out.logout = await client.post('/authentication/logout/');
  out.after = await client.get('/authentication/whoami/')
    .then(() => 'accepted', (e) => (isHTTPError(e) ? { status: e.status, code: e.code, body: e.body } : String(e)));
  return out;
};
window.ready = true;
</script></body></html>`;

/** Static page + dist on 127.0.0.1, reverse-proxying the Tessera paths so cookies are same-origin. */
async function frontServer(tessera: URL, distDir: string): Promise<{ server: Server; url: string }> {
  const server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(PAGE);
    } else if (path.startsWith('/dist/')) {
      const file = normalize(join(distDir, path.slice('/dist/'.length)));
      if (!file.startsWith(distDir)) return void res.writeHead(403).end();
      try {
        const body = await readFile(file);
        res.writeHead(200, { 'content-type': file.endsWith('.js') ? 'text/javascript' : 'application/octet-stream' });
        res.end(body);
      } catch {
        res.writeHead(404).end();
      }
    } else if (path.startsWith('/authentication/') || path.startsWith('/users/')) {
      // The Host header is passed through: to Tessera the page's origin is its own.
      const upstream = request(
        { host: tessera.hostname, port: tessera.port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => res.writeHead(502).end());
      req.pipe(upstream);
    } else res.writeHead(404).end();
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('SessionAuthentication in headless Chromium (seed 000 in a page)', () => {
  let tessera: TestServer;
  let front: { server: Server; url: string };
  let browser: Browser;
  let userId: number;
  let distDir: string;
  beforeAll(async () => {
    // The package as built by tsc, served as ES modules (no bundler).
    distDir = buildClient();
    tessera = await startServer('sqlite');
    userId = (await tessera.createUser('user', PASSWORD)).id;
    front = await frontServer(new URL(tessera.url), distDir);
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await new Promise((done) => front?.server.close(done));
    await tessera?.close();
    if (distDir) rmSync(distDir, { recursive: true, force: true });
  });

  it('logs in, reads, writes with X-CSRFToken from document.cookie, logs out and is then refused', async () => {
    const page = await browser.newPage();
    await page.goto(`${front.url}/`);
    await page.waitForFunction(() => (window as unknown as { ready?: boolean }).ready === true, null, {
      timeout: 10_000,
    });
    const result = await page.evaluate(
      ([username, password]) =>
        (window as unknown as { runFlow(u: string, p: string): Promise<Record<string, unknown>> }).runFlow(
          username as string,
          password as string,
        ),
      ['user', PASSWORD],
    );
    expect(result.login).toMatchObject({ id: userId, username: 'user' });
    // The session cookie is HttpOnly: the page sees only the CSRF cookie, which the client mirrors.
    expect(result.visibleCookies).toEqual(['csrftoken']);
    expect(JSON.stringify(result.users)).toContain('"username":"user"');
    expect(result.patched).toMatchObject({ email: 'browser@example.com' });
    expect(result.withoutCsrf).toBe(403);
    expect(result.logout).toEqual({ detail: 'Successfully logged out.' });
    expect(result.after).toMatchObject({ status: 401, code: 'HTTP_ERROR' });
    await page.close();
  }, 30_000);
});
