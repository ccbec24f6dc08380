// Every parser that reads request data, timed on a ~10 KB and a ~100 KB adversarial input in
// one run (issue 13 item 1; SECURITY H: never a hang). A linear parser takes about 10× as long
// on the larger input, a quadratic one about 100×: the ratio tells them apart on any machine,
// where an absolute time would not. Shared by `bench/linearity.js` (the table) and
// packages/server/test/security/h-linear-parsers.test.ts (the assertion CI runs).
//
// Needs the built server (`npm run build`): it measures the code `tessera serve` runs.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import FindMyWay from 'find-my-way';
import { OfflineVerifier } from '../../packages/server/dist/adapters/offline.js';
import { resolveConfig } from '../../packages/server/dist/config.js';
import { readBody } from '../../packages/server/dist/http/body.js';
import { clientAddress } from '../../packages/server/dist/http/client-address.js';
import { parseCookies } from '../../packages/server/dist/http/cookies.js';
import { checkSameOrigin } from '../../packages/server/dist/http/csrf.js';
import { prefersHtml } from '../../packages/server/dist/http/home-page.js';
import { optionalInstant, optionalInt } from '../../packages/server/dist/http/query.js';
import { trimHttpWhitespace } from '../../packages/server/dist/http/whitespace.js';
import { basicCredentialsOf, decodeBasic } from '../../packages/server/dist/schemes/basic.js';
import { decodeConjurHeader } from '../../packages/server/dist/signing/conjur-token.js';
import { looksLikeJwt } from '../../packages/server/dist/signing/jwt.js';
import { openTessera } from '../../packages/server/dist/tessera.js';
import { validateEmail, validateUsername } from '../../packages/server/dist/users/user.js';
import { canonicalUsername, usernameSkeleton } from '../../packages/server/dist/users/username-identity.js';

/** Input sizes in characters: ~10 KB against ~100 KB. */
export const SMALL = 10_000;
export const LARGE = 100_000;
/**
 * `authenticate()` refuses an `Authorization` header past 8 KiB unread
 * (MAX_AUTHORIZATION_BYTES), so what parses it is timed below that bound, still 10× apart.
 */
const HEADER_SMALL = 800;
const HEADER_LARGE = 8_000;

/** A flat copy of a string: a rope built by `+` would be flattened inside the first timed call. */
const flat = (text) => JSON.parse(JSON.stringify(text));
const spaces = (n) => ' '.repeat(n);
/** `unit` repeated to about `n` characters. */
const times = (unit, n) => unit.repeat(Math.max(1, Math.floor(n / unit.length)));
const swallow = () => undefined;

/**
 * Opens what the parsers need: a Tessera core on a fresh SQLite file (for the server's — and
 * the `local` middleware's — `authenticate()`), an offline verifier (no key is ever fetched:
 * every input here is refused before one would be), a router with the server's options.
 */
export async function openParsers() {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-linearity-'));
  const config = resolveConfig(
    {},
    {
      databaseUrl: join(dir, 'tessera.db'),
      masterKey: { kind: 'env', value: randomBytes(32).toString('base64') },
      logLevel: 'silent',
    },
  );
  const tessera = await openTessera(config);
  const offline = new OfflineVerifier({ mode: 'offline', url: 'http://127.0.0.1:9', fetch: () => Promise.reject() });
  const router = FindMyWay({
    ignoreTrailingSlash: true,
    ignoreDuplicateSlashes: true,
    caseSensitive: true,
    maxParamLength: 200,
  });
  for (const path of ['/v1/me', '/users/users/:id/', '/authn/:account/:login/authenticate'])
    router.on('GET', path, swallow);
  const csrfContext = (headers) => ({
    secure: true,
    header: (name) => headers[name],
    tessera: { config: { trustedOrigins: ['https://app.example'] } },
  });
  const proxies = new Set(['10.0.0.1']);
  const fromProxy = (xff) => ({ socket: { remoteAddress: '10.0.0.1' }, headers: { 'x-forwarded-for': xff } });
  const bodyOf = (type, text) => {
    const stream = Readable.from([Buffer.from(text)]);
    stream.headers = { 'content-type': type };
    return stream;
  };
  const authenticate = (authorization) => tessera.authenticator.authenticate({ headers: { authorization } });

  /** name, the parser, and the adversarial input of about `n` characters. */
  const cases = [
    ['trimHttpWhitespace: a + spaces + b', (s) => trimHttpWhitespace(s), (n) => `a${spaces(n)}b`],
    ['trimHttpWhitespace: tabs, CR, LF + a', (s) => trimHttpWhitespace(s), (n) => `${times('\t\r\n ', n)}a`],
    ['Cookie: sessionid=a + spaces + b', (s) => parseCookies(s), (n) => `sessionid=a${spaces(n)}b`],
    ['Cookie: sessionid=a + spaces', (s) => parseCookies(s), (n) => `sessionid=a${spaces(n)}`],
    ['Cookie: ; repeated', (s) => parseCookies(s), (n) => ';'.repeat(n)],
    ['Cookie: a= repeated', (s) => parseCookies(s), (n) => times('a=', n)],
    ['Cookie: a=; repeated', (s) => parseCookies(s), (n) => times('a=;', n)],
    ['Cookie: spaces + ; repeated', (s) => parseCookies(s), (n) => times(' ; = ', n)],
    ['authenticate: Basic a + spaces + b', authenticate, (n) => `Basic a${spaces(n)}b`, 'header'],
    [
      'authenticate: spaces + Token + spaces + a b',
      authenticate,
      (n) => `${spaces(n / 2)}Token${spaces(n / 2)}a b`,
      'header',
    ],
    ['authenticate: Token a b repeated (DRF split)', authenticate, (n) => `Token ${times('a ', n)}`, 'header'],
    ['authenticate: Token token=" + base64 + !"', authenticate, (n) => `Token token="${'A'.repeat(n)}!"`, 'header'],
    ['authenticate: Token token=" + quotes', authenticate, (n) => `Token token="${'"'.repeat(n)}`, 'header'],
    ['authenticate: Bearer a. repeated + !', authenticate, (n) => `Bearer ${times('a.', n)}!`, 'header'],
    ['authenticate: Bearer a.b.c + spaces + d', authenticate, (n) => `Bearer a.b.c${spaces(n)}d`, 'header'],
    ['authenticate: token key + : repeated (Frappe)', authenticate, (n) => `token ${times('a:', n)} x`, 'header'],
    ['Conjur login: Basic + spaces + a b', (s) => basicCredentialsOf(s), (n) => `Basic${spaces(n)}a b`],
    ['Conjur login: Basic a + spaces + b', (s) => basicCredentialsOf(s), (n) => `Basic a${spaces(n)}b`],
    ['decodeBasic: base64 + =!', (s) => decodeBasic(s), (n) => `${'QUFB'.repeat(n / 4)}=!`],
    [
      'decodeBasic: base64 of a: + NUL',
      (s) => decodeBasic(s),
      (n) => Buffer.from(`a:${'b'.repeat(n)}\u0000`).toString('base64'),
    ],
    ['decodeConjurHeader: base64 + !', (s) => decodeConjurHeader(s), (n) => `${'A'.repeat(n)}!`, 'header'],
    ['looksLikeJwt: a. repeated + !', (s) => looksLikeJwt(s), (n) => `${times('a.', n)}!`],
    [
      'looksLikeJwt: three long parts + !',
      (s) => looksLikeJwt(s),
      (n) => `${'a'.repeat(n / 3)}.${'a'.repeat(n / 3)}.${'a'.repeat(n / 3)}!`,
    ],
    [
      'offline middleware: Bearer + spaces + a b',
      (s) => offline.verify({ headers: { authorization: s } }),
      (n) => `Bearer${spaces(n)}a b`,
    ],
    [
      'offline middleware: Bearer a + spaces + b',
      (s) => offline.verify({ headers: { authorization: s } }),
      (n) => `Bearer a${spaces(n)}b`,
    ],
    ['X-Forwarded-For: , repeated', (s) => clientAddress(fromProxy(s), proxies), (n) => ', '.repeat(n / 2)],
    [
      'X-Forwarded-For: 1.2.3.4:5, repeated',
      (s) => clientAddress(fromProxy(s), proxies),
      (n) => times('1.2.3.4:5, ', n),
    ],
    ['X-Forwarded-For: spaces + 10.0.0.1', (s) => clientAddress(fromProxy(s), proxies), (n) => `${spaces(n)}10.0.0.1`],
    [
      'Origin: http:// + a repeated',
      (s) => tryCatch(() => checkSameOrigin(csrfContext({ origin: s, host: 'h' }), { requireReferer: true })),
      (n) => `http://${'a'.repeat(n)}`,
    ],
    [
      'Referer: https://h/ + a/ repeated',
      (s) => tryCatch(() => checkSameOrigin(csrfContext({ referer: s, host: 'h' }), { requireReferer: true })),
      (n) => `https://h/${times('a/', n)}`,
    ],
    [
      'form body: a= repeated',
      (s) => readBody(bodyOf('application/x-www-form-urlencoded', s), 1 << 20),
      (n) => times('a=&', n),
    ],
    [
      'JSON body: spaces + {} + x',
      (s) => readBody(bodyOf('application/json', s), 1 << 20).catch(swallow),
      (n) => `${spaces(n)}{}x`,
    ],
    ['path: / repeated + v1/me', (s) => router.find('GET', s), (n) => `${'/'.repeat(n)}v1/me`],
    ['path: /users/users/ + %2e repeated', (s) => router.find('GET', s), (n) => `/users/users/${times('%2e', n)}/`],
    ['query: ?a=& repeated', (s) => router.find('GET', s), (n) => `/v1/me?${times('a=&', n)}`],
    [
      'query integer: 1 repeated + x',
      (s) => tryCatch(() => optionalInt(s, 'limit', 1, 100)),
      (n) => `${'1'.repeat(n)}x`,
    ],
    ['query instant: 2026- repeated', (s) => tryCatch(() => optionalInstant(s, 'since')), (n) => times('2026-', n)],
    ['username: a repeated + !', (s) => tryCatch(() => validateUsername(s)), (n) => `${'a'.repeat(n)}!`],
    ['username identity: Cyrillic а repeated', (s) => usernameSkeleton(canonicalUsername(s)), (n) => 'а'.repeat(n)],
    ['Accept: a/b;q=1; repeated + text/html', (s) => prefersHtml(s), (n) => `${times('a/b;q=1;', n)},text/html`],
    ['email: a@ repeated', (s) => tryCatch(() => validateEmail(s)), (n) => times('a@', n)],
  ].map(([name, parse, input, bound]) => ({
    name,
    parse,
    small: flat(input(bound === 'header' ? HEADER_SMALL : SMALL)),
    large: flat(input(bound === 'header' ? HEADER_LARGE : LARGE)),
  }));

  return {
    cases,
    async close() {
      await offline.close();
      await tessera.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function tryCatch(action) {
  try {
    action();
  } catch {
    // A refusal is a parse like any other: its cost is what is measured.
  }
}

/** Milliseconds for `count` calls of `parse(input)`, awaiting each (some parsers are async). */
async function batch(parse, input, count) {
  const started = performance.now();
  for (let i = 0; i < count; i++) await parse(input);
  return performance.now() - started;
}

/**
 * One case's ratio of time per call, large input to small. Calls are batched so that a batch
 * lasts about `batchMs` — the large input's batch has a tenth of the calls, so for a linear
 * parser both batches are as long and meet the same garbage collections; a quadratic parser's
 * large batch is ten times longer. Small and large batches alternate for `rounds` rounds and
 * the fastest of each side is kept: noise on a shared machine only ever adds time, so the
 * minimum is the best estimate of the work itself. Past `budgetMs` (a quadratic parser at
 * 100 KB takes seconds a call) no further round starts.
 */
export async function measure(testCase, { rounds = 7, batchMs = 4, budgetMs = 10_000 } = {}) {
  const { parse, small, large } = testCase;
  const started = performance.now();
  await batch(parse, small, 20); // warm up: the JIT, lazily compiled regular expressions
  await batch(parse, large, 1);
  let smallCount = 1;
  while (smallCount < 1_000_000 && (await batch(parse, small, smallCount)) < batchMs) smallCount *= 2;
  const largeCount = Math.max(1, Math.round((smallCount * small.length) / large.length));
  let smallMs = Number.POSITIVE_INFINITY;
  let largeMs = Number.POSITIVE_INFINITY;
  for (let r = 0; r < rounds && (r === 0 || performance.now() - started < budgetMs); r++) {
    smallMs = Math.min(smallMs, (await batch(parse, small, smallCount)) / smallCount);
    largeMs = Math.min(largeMs, (await batch(parse, large, largeCount)) / largeCount);
  }
  return {
    name: testCase.name,
    smallChars: small.length,
    largeChars: large.length,
    smallUs: smallMs * 1000,
    largeUs: largeMs * 1000,
    ratio: largeMs / smallMs,
  };
}
