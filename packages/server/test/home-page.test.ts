import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from './helpers/harness.js';
import { rawRequest } from './helpers/requests.js';

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;
const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

// The page touches no storage, so one database kind is enough.
describe('GET / through the real server', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer('sqlite');
  });
  afterAll(() => server?.close());

  it('gives a browser a small HTML page: what this is, the version, links to /openapi.json and /healthz', async () => {
    const response = await fetch(`${server.url}/`, { headers: { accept: BROWSER_ACCEPT } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('vary')).toBe('Accept');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    const html = await response.text();
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('authentication server');
    expect(html).toContain(`version ${VERSION}`);
    expect(html).toContain('href="/openapi.json"');
    expect(html).toContain('href="/healthz"');
    expect(html).toContain('README');
    // Nothing a strict CSP would block, and nothing loaded from elsewhere.
    expect(html).not.toMatch(/<script|<style|\sstyle=|<link|<img|\ssrc=|\son[a-z]+=|https?:\/\//i);
    // Every link on the page leads to a route that answers.
    for (const [, href] of html.matchAll(/href="([^"]+)"/g)) {
      expect((await fetch(`${server.url}${href}`)).status, href).toBe(200);
    }
  });

  it('answers HEAD / from a browser with the headers and no body', async () => {
    const response = await rawRequest(server, { method: 'HEAD', path: '/', headers: { accept: BROWSER_ACCEPT } });
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(response.body.length).toBe(0);
  });

  it('keeps the 404 JSON answer for API clients: no Accept, */*, application/json', async () => {
    for (const accept of [undefined, '*/*', 'application/json', 'application/json, text/html;q=0.5']) {
      const response = await rawRequest(server, {
        method: 'GET',
        path: '/',
        headers: accept === undefined ? {} : { accept },
      });
      expect(response.status, String(accept)).toBe(404);
      expect(response.headers['content-type'], String(accept)).toBe('application/json');
      expect(JSON.parse(response.body), String(accept)).toEqual({ detail: 'Not found.' });
    }
  });

  it('answers other methods on / with 405 and Allow: GET', async () => {
    const response = await fetch(`${server.url}/`, { method: 'POST', headers: { accept: BROWSER_ACCEPT } });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('GET');
    expect(await response.json()).toEqual({ detail: 'Method "POST" not allowed.' });
  });
});
