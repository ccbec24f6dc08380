import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, startServer, type TestServer } from '../helpers/harness.js';
import { sendRawRequest } from '../helpers/raw-socket.js';
import { rawRequest } from '../helpers/requests.js';
import { anyBytes, jsonValue } from './arbitraries.js';
import { FuzzTally } from './fuzz-settings.js';

/**
 * Generated requests through the real HTTP server, none carrying a valid credential: every
 * answer arrives within a bound, none is a 5xx, every 4xx is JSON with a reason, and no
 * route past the public ones ever answers 2xx — so nothing authenticated.
 */
const tally = new FuzzTally('http.fuzz.test.ts');
afterAll(() => tally.report());

/** A response must arrive within this; the server's own request timeout is 30 s. */
const BOUND_MS = 5_000;
/** Requests in flight at once within one generated batch. */
const BATCH = { minLength: 1, maxLength: 6 };

/** Routes that answer 2xx without credentials. */
const PUBLIC = new Set(['/healthz', '/.well-known/jwks.json', '/openapi.json']);

const ROUTES = [
  '/healthz',
  '/.well-known/jwks.json',
  '/openapi.json',
  '/v1/me',
  '/v1/credentials',
  '/v1/credentials/1',
  '/v1/token',
  '/v1/token/revoke',
  '/v1/introspect',
  '/authentication/login/',
  '/authentication/whoami/',
  '/authentication/logout/',
  '/api-token-auth/',
  '/api/whoami/',
  '/api/logout/',
  '/api/method/login',
  '/api/method/logout',
  '/api/method/frappe.auth.get_logged_user',
  '/api/method/frappe.core.doctype.user.user.generate_keys',
  '/api/authn/users/login',
  '/api/authn/users/alice/authenticate',
  '/api/authn/users/api_key',
  '/api/authn/whoami',
  '/authn/acct/login',
  '/authn/acct/alice/authenticate',
  '/whoami',
  '/users/users/',
  '/users/users/1/',
];

/** A route path, bent: doubled slashes, dot segments, percent-encoding, case, junk, a query. */
const path = fc
  .tuple(
    fc.constantFrom(...ROUTES),
    fc.array(fc.constantFrom('double', 'dot', 'encode', 'upper', 'trailing', 'query', 'junk', 'long', 'none'), {
      maxLength: 3,
    }),
    fc.string({ unit: 'binary-ascii', maxLength: 12 }),
  )
  .map(([route, bends, junk]) =>
    bends.reduce((p, bend) => {
      switch (bend) {
        case 'double':
          return p.replace(/\//g, '//');
        case 'dot':
          return p.replace(/\/([^/]+)\//, '/$1/%2e%2e/$1/').replace(/^\//, '/./');
        case 'encode':
          return p.replace(/[a-z]/, (c) => `%${c.charCodeAt(0).toString(16)}`).replace(/\./g, '%2e');
        case 'upper':
          return p.toUpperCase();
        case 'trailing':
          return p.endsWith('/') ? p.slice(0, -1) : `${p}/`;
        case 'query':
          return `${p}?${encodeURIComponent(junk)}=${encodeURIComponent(junk)}&token=${encodeURIComponent(junk)}`;
        case 'junk':
          return `${p}${encodeURIComponent(junk)}`;
        case 'long':
          return `${p}${'a'.repeat(5_000)}`;
        default:
          return p;
      }
    }, route),
  );

const CONJUR_LOGIN = /^\/(api\/authn\/users|authn\/[^/]+)\/(login|api_key|[^/]+\/authenticate)$/;

/** The path as the router sees it: percent-decoded, no query, no repeated or trailing slash. */
function routeOf(target: string): string {
  const bare = target.replace(/^http:\/\/[^/]*/, '').split('?')[0] ?? '';
  let decoded = bare;
  try {
    decoded = decodeURIComponent(bare);
  } catch {
    // Not decodable: the router cannot have matched it to a public route by decoding either.
  }
  return decoded.replace(/\/{2,}/g, '/').replace(/(.)\/$/, '$1');
}

/** Header values node:http will send: latin1 without control characters other than tab. */
const headerValue = fc.oneof(
  fc.string({ unit: 'grapheme-ascii', maxLength: 60 }),
  anyBytes.map((b) =>
    Buffer.from(b)
      .toString('latin1')
      .replace(/[^\t\x20-\x7e\x80-\xff]/g, ''),
  ),
);

const authorization = fc.oneof(
  headerValue,
  fc
    .tuple(fc.constantFrom('Token', 'token', 'Basic', 'Bearer', 'BEARER', 'Digest'), headerValue)
    .map(([s, v]) => `${s} ${v}`),
  fc.stringMatching(/^[0-9a-f]{40}$/).map((k) => `Token ${k}`),
  fc.stringMatching(/^tsr_[A-Za-z0-9_-]{40}$/).map((t) => `Bearer ${t}`),
  fc
    .tuple(fc.constantFrom('alice', 'admin', ''), headerValue)
    .map(([u, p]) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`),
);

const cookie = fc.oneof(
  headerValue,
  fc.stringMatching(/^[A-Za-z0-9_-]{43}$/).map((s) => `sessionid=${s}; csrftoken=${s}`),
  fc
    .array(fc.tuple(fc.constantFrom('sessionid', 'csrftoken', 'x'), headerValue), { maxLength: 4 })
    .map((pairs) => pairs.map(([n, v]) => `${n}=${v.replace(/;/g, '')}`).join('; ')),
);

/** A body field where a string belongs, or any other JSON: arrays, objects, `{"$ne": 1}`. */
const fieldValue = fc.oneof(
  { arbitrary: fc.constantFrom('alice', 'admin', '', 'x'.repeat(200)), weight: 2 },
  { arbitrary: fc.string({ maxLength: 30 }), weight: 2 },
  { arbitrary: jsonValue, weight: 3 },
);
const jsonBody = fc
  .dictionary(
    fc.constantFrom('username', 'password', 'name', 'scopes', 'expires_in', 'is_active', 'email', 'token', '__proto__'),
    fieldValue,
    { maxKeys: 5 },
  )
  .map((fields) => JSON.stringify(fields));

const body = fc.oneof(
  fc.record({ type: fc.constant('application/json'), data: jsonBody }),
  fc.record({ type: fc.constant('application/json'), data: jsonValue.map((v) => JSON.stringify(v) ?? '') }),
  fc.record({
    type: fc.constant('application/x-www-form-urlencoded'),
    data: fc
      .array(fc.tuple(fc.constantFrom('username', 'password', 'name', 'scopes'), fc.string({ maxLength: 20 })), {
        maxLength: 5,
      })
      .map((pairs) => new URLSearchParams(pairs).toString()),
  }),
  fc.record({
    type: fc.constantFrom(
      'text/plain',
      'application/xml',
      'multipart/form-data',
      'application/json; charset=latin1',
      '',
    ),
    data: fc.oneof(
      jsonBody,
      anyBytes.map((b) => Buffer.from(b).toString('latin1')),
    ),
  }),
);

const request = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'TRACE', 'get', 'PROPFIND'),
  path,
  authorization: fc.option(authorization, { nil: undefined }),
  cookie: fc.option(cookie, { nil: undefined }),
  origin: fc.option(fc.constantFrom('null', 'https://evil.test', 'http://127.0.0.1'), { nil: undefined }),
  body: fc.option(body, { nil: undefined }),
});

type Generated = typeof request extends fc.Arbitrary<infer T> ? T : never;

/** Rejects when `promise` has not settled within `ms`. */
async function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The checks every answer must pass; `what` names the request in a failure. */
function expectSafeAnswer(
  what: string,
  method: string,
  target: string,
  status: number,
  contentType: string | undefined,
  text: string,
): void {
  expect(status, `${what} → ${status} ${text.slice(0, 200)}`).toBeLessThan(500);
  if (status >= 200 && status < 300) {
    expect(PUBLIC.has(routeOf(target)), `${what} answered ${status} without a credential`).toBe(true);
  }
  // Conjur's login and authenticate calls answer bad credentials as Conjur does: 401, no body.
  const conjurSilence = status === 401 && text === '' && CONJUR_LOGIN.test(routeOf(target));
  if (status >= 400 && method.toUpperCase() !== 'HEAD' && !conjurSilence) {
    expect(contentType, `${what} → ${status} ${text.slice(0, 200)}`).toBe('application/json');
    const parsed = JSON.parse(text) as unknown;
    expect(typeof parsed === 'object' && parsed !== null && Object.keys(parsed).length > 0, what).toBe(true);
  }
}

describe('generated HTTP requests without a valid credential', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startServer('sqlite');
    await server.createUser('alice', PASSWORD);
    await server.createUser('admin', PASSWORD, { admin: true });
  });
  afterAll(() => server?.close());

  it('answers every request through node:http in time, never 5xx, 4xx as JSON, and 2xx only on public routes', async () => {
    const send = async (r: Generated) => {
      const headers: Record<string, string> = {};
      if (r.authorization !== undefined) headers.authorization = r.authorization;
      if (r.cookie !== undefined) headers.cookie = r.cookie;
      if (r.origin !== undefined) headers.origin = r.origin;
      if (r.body !== undefined && r.body.type !== '') headers['content-type'] = r.body.type;
      // node:http frames a GET body only when told its length; unframed, the bytes would be
      // read as a second request and the test would be fuzzing its own client.
      if (r.body !== undefined) headers['content-length'] = String(Buffer.byteLength(r.body.data, 'latin1'));
      const what = JSON.stringify(r).slice(0, 600);
      // The password is never sent: a generated body cannot log anyone in.
      if (r.body?.data.includes(PASSWORD)) return;
      const response = await within(
        BOUND_MS,
        rawRequest(server, {
          method: r.method,
          path: r.path,
          headers,
          ...(r.body !== undefined && { body: Buffer.from(r.body.data, 'latin1') }),
        }),
        what,
      );
      tally.tried('node:http requests');
      const type = response.headers['content-type'];
      expectSafeAnswer(what, r.method, r.path, response.status, type, response.body);
    };
    await fc.assert(
      fc.asyncProperty(fc.array(request, BATCH), async (batch) => {
        await Promise.all(batch.map(send));
      }),
      tally.params(300),
    );
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  }, 120_000);

  it('answers requests node’s parser refuses with a JSON reason, not a bare status line (found by fuzzing)', async () => {
    const cases: Array<[Array<string | Buffer>, number, string]> = [
      [[Buffer.from([0x58, 0x2d, 0x4a, 0x75, 0x6e, 0x6b, 0x3a, 0x20, 0x00])], 400, 'Bad request.'],
      [['Transfer-Encoding: chunked\r\nContent-Length: 0'], 400, 'Bad request.'],
      [[`X-Big: ${'a'.repeat(20_000)}`], 431, 'Request header fields too large.'],
    ];
    for (const [lines, status, detail] of cases) {
      const response = await sendRawRequest(server.url, lines, { path: '/v1/me', timeoutMs: BOUND_MS });
      expect(response.status).toBe(status);
      expect(response.header('content-type')).toBe('application/json');
      expect(response.header('cache-control')).toBe('no-store');
      expect(JSON.parse(response.body)).toEqual({ detail });
    }
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  /** Header lines fetch and node:http refuse to send: repeats, raw bytes, odd names. */
  const rawLine = fc.oneof(
    fc
      .tuple(
        fc.constantFrom('Authorization', 'Cookie', 'Content-Type', 'Origin', 'X-Forwarded-For', 'X-CSRFToken'),
        headerValue,
      )
      .map(([n, v]) => `${n}: ${v}`),
    authorization.map((v) => `Authorization: ${v}`),
    cookie.map((v) => `Cookie: ${v}`),
    anyBytes.map((b) =>
      Buffer.concat([Buffer.from('X-Junk: '), Buffer.from(b.filter((byte) => byte !== 0x0d && byte !== 0x0a))]),
    ),
    // Framing the server must refuse or ignore at once. (A declared body that never comes is
    // a slow client, cut off by the server's 30 s request timeout: not sent here.)
    fc.constantFrom(
      'Content-Length: 0',
      'Content-Length: -1',
      'Content-Length: 0x10',
      'Transfer-Encoding: chunked\r\nContent-Length: 0',
      'Transfer-Encoding: gzip',
      'Host: evil.test',
    ),
  );
  const rawTarget = fc.oneof(
    path,
    fc.constantFrom(
      '*',
      '/v1/me/../healthz',
      '/v1/me%00',
      '/v1/me;jsessionid=1',
      '/%2e%2e/%2e%2e/etc/passwd',
      '/v1/me#x',
      '/\\v1\\me',
    ),
    path.map((p) => `http://127.0.0.1${p}`),
  );

  it('answers raw-socket requests with repeated and raw-byte headers in time, never 5xx, and never 2xx off the public routes', async () => {
    const input = fc.record({
      method: fc.constantFrom('GET', 'POST', 'DELETE', 'HEAD', 'get', 'FOO'),
      target: rawTarget,
      lines: fc.array(rawLine, { maxLength: 6 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(input, BATCH), async (batch) => {
        await Promise.all(
          batch.map(async ({ method, target, lines }) => {
            const what = JSON.stringify({ method, target, lines: lines.map(String) }).slice(0, 600);
            const response = await sendRawRequest(server.url, lines, { method, path: target, timeoutMs: BOUND_MS });
            tally.tried('raw-socket requests');
            const route = target.replace(/^http:\/\/127\.0\.0\.1/, '');
            expectSafeAnswer(what, method, route, response.status, response.header('content-type'), response.body);
          }),
        );
      }),
      tally.params(200),
    );
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  }, 120_000);
});
