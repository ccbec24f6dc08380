import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Authentication,
  BasicAuthentication,
  Client,
  type FetchLike,
  isRedirectError,
  SessionAuthentication,
  TokenAuthentication,
} from '../src/index.js';
import { json, recordingServer } from './helpers.js';

/** A fetch that records where each request went and with which credentials, and answers from a script. */
function scriptedFetch(answer: (url: URL) => Response = () => Response.json({})) {
  const calls: { url: string; authorization: string | null; cookie: string | null }[] = [];
  const fetch: FetchLike = async (input, init) => {
    const headers = new Headers(init.headers);
    calls.push({ url: input.href, authorization: headers.get('authorization'), cookie: headers.get('cookie') });
    return answer(input);
  };
  return { fetch, calls };
}

async function sent(auth: Authentication, url: string): Promise<string | null> {
  const { fetch, calls } = scriptedFetch();
  await new Client({ auth, fetch }).get(url);
  return calls[0]?.authorization ?? null;
}

describe('domain scoping by host name', () => {
  const token = (domain: string) => new TokenAuthentication({ token: 'secret', domain });

  it('sends to example.com only for the domain example.com, on any port, in any case', async () => {
    expect(await sent(token('example.com'), 'https://example.com/')).toBe('Bearer secret');
    expect(await sent(token('example.com'), 'https://EXAMPLE.COM:8443/')).toBe('Bearer secret');
    expect(await sent(token('EXAMPLE.com'), 'http://example.com:80/')).toBe('Bearer secret');
    expect(await sent(token('example.com'), 'https://api.example.com/')).toBeNull();
    expect(await sent(token('example.com'), 'https://example.com.evil.test/')).toBeNull();
  });

  it("sends to subdomains but not to example.com itself for '*.example.com'", async () => {
    expect(await sent(token('*.example.com'), 'https://api.example.com/')).toBe('Bearer secret');
    expect(await sent(token('*.example.com'), 'https://deep.api.example.com:444/')).toBe('Bearer secret');
    expect(await sent(token('*.example.com'), 'https://example.com/')).toBeNull();
    expect(await sent(token('*.example.com'), 'https://badexample.com/')).toBeNull();
  });

  it('compares international domain names in punycode', async () => {
    expect(await sent(token('bücher.example'), 'https://xn--bcher-kva.example/')).toBe('Bearer secret');
    expect(await sent(token('xn--bcher-kva.example'), 'https://BÜCHER.example/')).toBe('Bearer secret');
    expect(await sent(token('bücher.example'), 'https://bucher.example/')).toBeNull();
  });

  it('scopes custom schemes by their domain too', async () => {
    const custom: Authentication = {
      allowCookies: false,
      domain: 'api.example.com',
      authenticate(request) {
        request.headers.set('authorization', 'Custom yes');
        return request;
      },
    };
    expect(await sent(custom, 'https://api.example.com/')).toBe('Custom yes');
    expect(await sent(custom, 'https://other.example.com/')).toBeNull();
  });

  it('drops the credential on a redirect to a host outside the domain, and re-applies it inside', async () => {
    const { fetch, calls } = scriptedFetch((url) =>
      url.hostname === 'a.example.com' && url.pathname === '/start'
        ? new Response(null, { status: 302, headers: { location: 'https://b.example.com/next' } })
        : url.hostname === 'b.example.com'
          ? new Response(null, { status: 307, headers: { location: 'https://evil.test/steal' } })
          : Response.json({ ok: true }),
    );
    const client = new Client({ fetch, auth: token('*.example.com') });
    expect(await client.get('https://a.example.com/start')).toEqual({ ok: true });
    expect(calls.map((c) => [new URL(c.url).hostname, c.authorization])).toEqual([
      ['a.example.com', 'Bearer secret'],
      ['b.example.com', 'Bearer secret'],
      ['evil.test', null],
    ]);
  });

  it("does not let a credential scoped '*' follow a redirect to another host, nor from https to http", async () => {
    const { fetch, calls } = scriptedFetch((url) =>
      url.pathname === '/start'
        ? new Response(null, { status: 302, headers: { location: 'https://example.com/same-host' } })
        : url.pathname === '/same-host'
          ? new Response(null, { status: 302, headers: { location: 'http://example.com/downgraded' } })
          : url.pathname === '/downgraded'
            ? new Response(null, { status: 302, headers: { location: 'https://other.test/' } })
            : Response.json({}),
    );
    await new Client({ fetch, auth: token('*') }).get('https://example.com/start');
    expect(calls.map((c) => c.authorization)).toEqual(['Bearer secret', 'Bearer secret', null, null]);
  });

  it('strips an Authorization header the caller set when a redirect leaves the origin', async () => {
    const { fetch, calls } = scriptedFetch((url) =>
      url.hostname === 'example.com'
        ? new Response(null, { status: 301, headers: { location: 'https://other.test/' } })
        : Response.json({}),
    );
    await new Client({ fetch }).get('https://example.com/', { headers: { authorization: 'Bearer mine' } });
    expect(calls.map((c) => c.authorization)).toEqual(['Bearer mine', null]);
  });

  it('gives up with a RedirectError after 5 redirects', async () => {
    const { fetch, calls } = scriptedFetch(() => new Response(null, { status: 302, headers: { location: '/again' } }));
    const error = await new Client({ fetch }).get('https://example.com/').catch((e) => e);
    expect(isRedirectError(error)).toBe(true);
    expect(error).toMatchObject({ code: 'TOO_MANY_REDIRECTS' });
    expect(calls).toHaveLength(6);
  });
});

describe('domain scoping across two real hosts (127.0.0.1 and localhost)', () => {
  let a: Awaited<ReturnType<typeof recordingServer>>;
  let b: Awaited<ReturnType<typeof recordingServer>>;
  beforeAll(async () => {
    b = await recordingServer((_req, res) => json(res, 200, { host: 'b' }, { 'set-cookie': 'bsid=1; Path=/' }));
    a = await recordingServer((req, res) => {
      if (req.url === '/away') {
        res.writeHead(302, { location: `http://localhost:${b.port}/landing` });
        res.end();
      } else if (req.url === '/login') json(res, 200, {}, { 'set-cookie': 'sessionid=s3cret; Path=/; HttpOnly' });
      else json(res, 200, { host: 'a' });
    });
  });
  afterAll(async () => {
    await a.close();
    await b.close();
  });
  const last = (server: typeof a) => server.seen[server.seen.length - 1]?.headers;

  it('sends Basic credentials to 127.0.0.1 and not to localhost on another port', async () => {
    const client = new Client({ auth: new BasicAuthentication({ username: 'u', password: 'p', domain: '127.0.0.1' }) });
    await client.get(`http://127.0.0.1:${a.port}/x`);
    expect(last(a)?.authorization).toBe(`Basic ${btoa('u:p')}`);
    await client.get(`http://localhost:${b.port}/x`);
    expect(last(b)?.authorization).toBeUndefined();
  });

  it('does not carry the credential or the session cookie across a real redirect to the other host', async () => {
    const client = new Client({ auth: new SessionAuthentication({ domain: '127.0.0.1' }) });
    await client.post(`http://127.0.0.1:${a.port}/login`);
    await client.get(`http://127.0.0.1:${a.port}/x`);
    expect(last(a)?.cookie).toBe('sessionid=s3cret');

    expect(await client.get(`http://127.0.0.1:${a.port}/away`)).toEqual({ host: 'b' });
    expect(last(b)?.cookie).toBeUndefined();
    // and a cookie set by the out-of-domain host is not kept either
    expect(client.cookies.all().map((c) => c.name)).toEqual(['sessionid']);

    const token = new Client({ auth: new TokenAuthentication({ token: 't', domain: '*' }) });
    await token.get(`http://127.0.0.1:${a.port}/away`);
    expect(a.seen[a.seen.length - 1]?.headers.authorization).toBe('Bearer t');
    expect(last(b)?.authorization).toBeUndefined();
  });
});
