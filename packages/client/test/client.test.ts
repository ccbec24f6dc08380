import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, isHTTPError, isNetworkError, isTimeoutError } from '../src/index.js';
import { json, recordingServer } from './helpers.js';

describe('Client', () => {
  let server: Awaited<ReturnType<typeof recordingServer>>;
  let flaky = 0;
  let base: string;
  beforeAll(async () => {
    server = await recordingServer((req, res, body) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/echo')
        json(res, 200, {
          method: req.method,
          query: url.search,
          contentType: req.headers['content-type'] ?? null,
          body,
        });
      else if (url.pathname === '/text') {
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('plain words');
      } else if (url.pathname === '/bytes') {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.end(Buffer.from([0, 255, 1]));
      } else if (url.pathname === '/empty') {
        res.writeHead(204);
        res.end();
      } else if (url.pathname === '/missing') json(res, 404, { detail: 'Not found.' });
      else if (url.pathname === '/slow') setTimeout(() => json(res, 200, {}), 2000);
      else if (url.pathname === '/flaky') {
        flaky++;
        if (flaky < 3) json(res, 503, { detail: 'busy' }, { 'retry-after': '0' });
        else json(res, 200, { attempts: flaky });
      } else if (url.pathname === '/see-other') {
        res.writeHead(303, { location: '/echo' });
        res.end();
      } else json(res, 200, { path: url.pathname });
    });
    base = `http://127.0.0.1:${server.port}`;
  });
  afterAll(async () => {
    await server.close();
  });

  it('sends JSON, form and raw bodies with their content types, and the query string', async () => {
    const client = new Client({ baseUrl: base });
    expect(await client.post('/echo', { json: { a: 1 }, query: { q: 'x y', n: 2, skip: undefined } })).toEqual({
      method: 'POST',
      query: '?q=x+y&n=2',
      contentType: 'application/json',
      body: '{"a":1}',
    });
    expect(await client.put('/echo', { form: { username: 'u', password: 'p&q' } })).toMatchObject({
      contentType: 'application/x-www-form-urlencoded;charset=UTF-8',
      body: 'username=u&password=p%26q',
    });
    expect(await client.patch('/echo', { body: 'raw', headers: { 'content-type': 'text/plain' } })).toMatchObject({
      method: 'PATCH',
      body: 'raw',
      contentType: 'text/plain',
    });
    expect(await client.delete('/echo', { query: { tag: ['a', 'b'] } })).toMatchObject({ query: '?tag=a&tag=b' });
  });

  it('refuses two bodies at once with a TypeError', async () => {
    await expect(new Client({ baseUrl: base }).post('/echo', { json: {}, form: {} })).rejects.toThrow(TypeError);
  });

  it('parses responses by content type: JSON, text, bytes, and null for no content', async () => {
    const client = new Client({ baseUrl: base });
    expect(await client.get('/text')).toBe('plain words');
    const bytes = await client.get<ArrayBuffer>('/bytes');
    expect([...new Uint8Array(bytes)]).toEqual([0, 255, 1]);
    expect(await client.get('/empty')).toBeNull();
    expect(await client.get('/echo', { responseType: 'text' })).toMatch(/^\{"method":"GET"/);
  });

  it('keeps the base URL path as a prefix and returns status and headers from send()', async () => {
    const client = new Client({ baseUrl: `${base}/api/v2` });
    const response = await client.send('get', 'users/');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.data).toEqual({ path: '/api/v2/users/' });
  });

  it('throws an HTTPError with the status and the parsed body for a non-2xx answer', async () => {
    const error = await new Client({ baseUrl: base }).get('/missing').catch((e) => e);
    expect(isHTTPError(error)).toBe(true);
    expect(error).toMatchObject({ status: 404, code: 'HTTP_ERROR', body: { detail: 'Not found.' } });
    // The server's `detail` is part of the message: it says what was wrong.
    expect((error as Error).message).toBe(`GET ${base}/missing answered 404 Not Found: Not found.`);
  });

  it('throws a NetworkError when nothing listens', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as { port: number };
        probe.close(() => resolve(port));
      });
    });
    const error = await new Client().get(`http://127.0.0.1:${port}/`).catch((e) => e);
    expect(isNetworkError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'NETWORK_ERROR', cause: expect.any(Error) });
  });

  it('throws a TimeoutError when the answer is slower than timeoutMs', async () => {
    const started = Date.now();
    const error = await new Client({ baseUrl: base, timeoutMs: 100 }).get('/slow').catch((e) => e);
    expect(isTimeoutError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'TIMEOUT', timeoutMs: 100 });
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('retries an idempotent request on 503 when asked to, and not a POST', async () => {
    flaky = 0;
    const client = new Client({ baseUrl: base, retry: { limit: 3, delayMs: 1 } });
    expect(await client.get('/flaky')).toEqual({ attempts: 3 });
    flaky = 0;
    const error = await client.post('/flaky').catch((e) => e);
    expect(isHTTPError(error) && error.status).toBe(503);
    expect(flaky).toBe(1);
  });

  it('follows a 303 after a POST with a GET without the body', async () => {
    const data = await new Client({ baseUrl: base }).post('/see-other', { json: { a: 1 } });
    expect(data).toEqual({ method: 'GET', query: '', contentType: null, body: '' });
  });
});
