import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthInput } from '../../src/auth/principal.js';
import { issueConjurToken } from '../../src/signing/conjur-token.js';
import { canonicalUsername } from '../../src/users/username-identity.js';
import { basicHeader } from '../helpers/credentials.js';
import { describeEachDatabase, login, PASSWORD, startServer, type TestServer } from '../helpers/harness.js';
import { craftJws, decodeParts, ed25519, hs256 } from '../helpers/jwt.js';
import { api } from '../helpers/requests.js';
import { anyText, swapBase64Alphabet } from './arbitraries.js';
import { FuzzTally } from './fuzz-settings.js';

/**
 * `authenticate()` on a real Tessera over a real database, fed mutations of valid
 * credentials of every kind. The property: a mutated credential never authenticates unless
 * it is the valid one spelled in one of the ways the schemes document as equal (scheme name
 * in any case, spaces or tabs around the credentials, one trailing newline inside Basic as
 * `echo … | base64` writes it, Conjur's quotes optional and its JSON spelled any way, spaces
 * and quotes around a cookie value) — and nothing throws.
 */
const tally = new FuzzTally('authenticate.fuzz.test.ts');
afterAll(() => tally.report());

type Family = 'drf' | 'frappe' | 'frappe-basic' | 'basic' | 'personal' | 'jwt' | 'conjur-legacy' | 'conjur-jws';

interface Valid {
  family: Family;
  /** The Authorization value, or the Cookie value for the session. */
  header: string;
}

/** One change to a string, kept as data so a counterexample prints readably. */
interface Mutation {
  op: 'flip' | 'truncate' | 'append' | 'insert' | 'delete' | 'swapCase' | 'upper' | 'alphabet' | 'colon' | 'repeat';
  at: number;
  text: string;
}

const mutation: fc.Arbitrary<Mutation> = fc.record({
  op: fc.constantFrom(
    'flip',
    'truncate',
    'append',
    'insert',
    'delete',
    'swapCase',
    'upper',
    'alphabet',
    'colon',
    'repeat',
  ),
  at: fc.nat(),
  text: fc.oneof(
    fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 3 }),
    fc.constantFrom('=', '==', ' ', '\t', ':', '"', '.', '-', '_', '+', '/', 'A', 'a', '0', '\u00e9', '\n', '\r\n'),
    // Characters String.prototype.trim() removes but HTTP does not count as whitespace.
    fc.constantFrom('\u00a0', '\ufeff', '\u2028', '\u3000', '\u000b', '\u000c', '\u0085'),
    anyText.filter((t) => t.length > 0 && t.length < 200),
  ),
});

function mutate(value: string, { op, at, text }: Mutation): string {
  const i = value.length === 0 ? 0 : at % value.length;
  const char = value[i] ?? '';
  switch (op) {
    case 'flip': {
      // A different character at i: the neighbouring code point, or the given text's first.
      const other = text[0] !== char && text[0] !== undefined ? text[0] : String.fromCharCode(char.charCodeAt(0) ^ 1);
      return `${value.slice(0, i)}${other}${value.slice(i + 1)}`;
    }
    case 'truncate':
      return value.slice(0, i);
    case 'append':
      return `${value}${text}`;
    case 'insert':
      return `${value.slice(0, i)}${text}${value.slice(i)}`;
    case 'delete':
      return `${value.slice(0, i)}${value.slice(i + 1)}`;
    case 'swapCase':
      return `${value.slice(0, i)}${char === char.toUpperCase() ? char.toLowerCase() : char.toUpperCase()}${value.slice(i + 1)}`;
    case 'upper':
      return value.toUpperCase();
    case 'alphabet':
      return swapBase64Alphabet(value);
    case 'colon':
      return `${value.slice(0, i)}:${value.slice(i)}`;
    case 'repeat':
      return `${value}${value.slice(i)}`;
  }
}

/** The scheme name (lower-cased) and the credentials after it, as the dispatcher splits them. */
function split(header: string): [string, string] {
  const trimmed = trimOws(header);
  const gap = trimmed.search(/[ \t]/);
  return gap < 0 ? [trimmed.toLowerCase(), ''] : [trimmed.slice(0, gap).toLowerCase(), trimOws(trimmed.slice(gap + 1))];
}

/**
 * Strips what may surround a field value: RFC 9110 5.6.3's OWS (spaces and tabs) and, since
 * the Fetch standard's Headers normalise it away before an adapter sees it, CR and LF
 * ("HTTP whitespace"). No other character: U+00A0 or U+FEFF around a secret is not its spelling.
 */
function trimOws(text: string): string {
  return text.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');
}

/** Strict base64 decoding: undefined unless the text is the one spelling of its bytes. */
function strictBase64(text: string): Buffer | undefined {
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text && text.length > 0 ? bytes : undefined;
}

/** The JSON a Conjur header carries, or undefined. */
function conjurJson(credentials: string): unknown {
  const encoded = /^token="?([^"]*)"?$/i.exec(credentials)?.[1];
  const bytes = encoded === undefined ? undefined : strictBase64(encoded);
  if (!bytes) return undefined;
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return undefined;
  }
}

/** Whether `header` is the valid credential in one of its documented equal spellings. */
function sameCredential(valid: Valid, header: string): boolean {
  const [scheme, credentials] = split(header);
  const [validScheme, validCredentials] = split(valid.header);
  if (scheme !== validScheme) return false;
  if (credentials === validCredentials) return true;
  if (valid.family === 'basic' || valid.family === 'frappe-basic') {
    const bytes = strictBase64(credentials);
    const text = bytes?.toString('utf8').replace(/\r?\n$/, '');
    const validText = strictBase64(validCredentials)?.toString('utf8');
    if (text !== undefined && valid.family === 'basic' && validText !== undefined) {
      // A username is one identity however spelled (issue 13 item 9): `ALICE:pw` is alice's.
      const [name, secret] = [text.slice(0, text.indexOf(':')), text.slice(text.indexOf(':'))];
      const [validName, validSecret] = [
        validText.slice(0, validText.indexOf(':')),
        validText.slice(validText.indexOf(':')),
      ];
      return text.includes(':') && secret === validSecret && canonicalUsername(name) === canonicalUsername(validName);
    }
    return text !== undefined && text === validText;
  }
  if (valid.family === 'conjur-legacy' || valid.family === 'conjur-jws') {
    const json = conjurJson(credentials);
    return json !== undefined && JSON.stringify(json) === JSON.stringify(conjurJson(validCredentials));
  }
  return false;
}

/** Whether a Cookie header carries exactly one session cookie and it is the valid one. */
function sameSessionCookie(secret: string, cookie: string): boolean {
  const values = cookie
    .split(';')
    .map((piece) => [trimOws(piece.slice(0, piece.indexOf('='))), trimOws(piece.slice(piece.indexOf('=') + 1))])
    .filter(([name]) => name === 'sessionid')
    .map(([, value = '']) =>
      value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value,
    );
  return values.length === 1 && values[0] === secret;
}

describeEachDatabase('authenticate() under mutations of valid credentials', (kind) => {
  // Fewer runs on PostgreSQL: each check is a few round trips to a server on the same two cores.
  const scale = kind === 'sqlite' ? 1 : 0.2;
  let server: TestServer;
  let valid: Valid[];
  let sessionSecret: string;
  let otherKey: { privateKey: KeyObject };
  let csrfToken: string;
  let aliceId: number;

  const authenticate = (input: AuthInput) =>
    server.tessera.authenticator.authenticate({ clientAddress: '192.0.2.1', ...input });
  const withHeader = (header: string) =>
    authenticate({ headers: { authorization: header }, headersDistinct: { authorization: [header] } });

  beforeAll(async () => {
    const lenient = { max: 1_000_000, windowMs: 60_000 };
    server = await startServer(kind, { throttle: { account: lenient, address: lenient } });
    const alice = await server.createUser('alice', PASSWORD);
    aliceId = alice.id;
    await server.createUser('bob', PASSWORD);
    const { tessera } = server;
    const drfKey = await tessera.issuer.drfToken(alice.id, { actorId: null });
    const { apiKey, apiSecret } = await tessera.issuer.generateApiKeys(alice.id, { actorId: null });
    const { token: personal } = await tessera.issuer.personalToken(
      { userId: alice.id, name: 'fuzz', expiresAt: null, scopes: null },
      { actorId: null },
    );
    const response = await api(server, 'POST', '/v1/token', { headers: { authorization: `Bearer ${personal}` } });
    const { access_token: jwt } = (await response.json()) as { access_token: string };
    const conjur = (format: 'legacy' | 'jws') =>
      `Token token="${Buffer.from(JSON.stringify(issueConjurToken(tessera.keyring, { login: 'alice', userId: alice.id, validAfter: 0 }, tessera.clock(), tessera.config.conjur.ttlMs, format))).toString('base64')}"`;
    valid = [
      { family: 'drf', header: `Token ${drfKey}` },
      { family: 'frappe', header: `token ${apiKey}:${apiSecret}` },
      { family: 'frappe-basic', header: basicHeader(apiKey, apiSecret) },
      { family: 'basic', header: basicHeader('alice', PASSWORD) },
      { family: 'personal', header: `Bearer ${personal}` },
      { family: 'jwt', header: `Bearer ${jwt}` },
      { family: 'conjur-legacy', header: conjur('legacy') },
      { family: 'conjur-jws', header: conjur('jws') },
    ];
    ({ sessionId: sessionSecret, csrfToken } = await login(server, 'alice', PASSWORD));
    otherKey = generateKeyPairSync('ed25519');
  }, 60_000);
  afterAll(() => server?.close());

  it('authenticates every valid credential, in any case of its scheme name and with extra spaces or tabs', async () => {
    const variant = fc.tuple(fc.nat(valid.length - 1), fc.constantFrom(' ', '  ', '\t', ' \t'), fc.boolean(), fc.nat());
    await fc.assert(
      fc.asyncProperty(variant, async ([which, gap, trailing, caseBits]) => {
        tally.tried(`${kind}: equal spellings authenticate`);
        const { header } = valid[which] ?? { header: '' };
        const [scheme, credentials] = split(header);
        const name = [...header.slice(0, scheme.length)]
          .map((c, i) => ((caseBits >> i) & 1 ? c.toUpperCase() : c.toLowerCase()))
          .join('');
        const spelled = `${trailing ? ' ' : ''}${name}${gap}${credentials}${trailing ? ' ' : ''}`;
        const result = await withHeader(spelled);
        expect(result.ok, JSON.stringify(spelled)).toBe(true);
        if (result.ok) expect(result.principal.user.username).toBe('alice');
      }),
      tally.params(Math.ceil(60 * scale)),
    );
  });

  it('never authenticates a mutated Authorization header unless it is the valid credential respelled', async () => {
    const input = fc.tuple(fc.nat(valid.length - 1), fc.array(mutation, { minLength: 1, maxLength: 3 }), fc.boolean());
    await fc.assert(
      fc.asyncProperty(input, async ([which, mutations, wholeHeader]) => {
        const chosen = valid[which] ?? valid[0];
        if (!chosen) throw new Error('no valid credentials');
        tally.tried(`${kind}: mutated Authorization (${chosen.family})`);
        // Mutate the credentials alone, or the whole header including the scheme name.
        const [scheme, credentials] = split(chosen.header);
        const prefix = chosen.header.slice(0, scheme.length);
        const header = wholeHeader
          ? mutations.reduce(mutate, chosen.header)
          : `${prefix} ${mutations.reduce(mutate, credentials)}`;
        const result = await withHeader(header);
        if (result.ok)
          expect(sameCredential(chosen, header), `${chosen.family} accepted ${JSON.stringify(header)}`).toBe(true);
        else expect(typeof result.message).toBe('string');
      }),
      tally.params(Math.ceil(4000 * scale)),
    );
  }, 120_000);

  it('refuses a valid credential with U+00A0 or U+FEFF beside it (counterexamples found by fuzzing)', async () => {
    for (const { family, header } of valid) {
      for (const odd of ['\u00a0', '\ufeff', '\u0085', '\u000b']) {
        const [scheme, credentials] = split(header);
        for (const spelled of [`${header}${odd}`, `${scheme} ${odd}${credentials}`]) {
          const result = await withHeader(spelled);
          expect(result.ok, `${family} ${JSON.stringify(spelled)}`).toBe(false);
        }
      }
    }
    for (const cookie of [
      `sessionid=${sessionSecret}\u00a0`,
      `sessionid=\ufeff${sessionSecret}`,
      `\u00a0sessionid=${sessionSecret}`,
    ]) {
      expect((await authenticate({ headers: { cookie } })).ok, JSON.stringify(cookie)).toBe(false);
    }
    expect((await authenticate({ headers: { cookie: ` sessionid=${sessionSecret}\t` } })).ok).toBe(true);
  });

  it('never authenticates two Authorization headers, even two copies of a valid one', async () => {
    const input = fc.tuple(fc.nat(valid.length - 1), fc.nat(valid.length - 1), mutation, fc.boolean());
    await fc.assert(
      fc.asyncProperty(input, async ([a, b, change, same]) => {
        tally.tried(`${kind}: two Authorization headers`);
        const first = valid[a]?.header ?? '';
        const second = same ? first : mutate(valid[b]?.header ?? '', change);
        const result = await authenticate({
          headers: { authorization: `${first}, ${second}` },
          headersDistinct: { authorization: [first, second] },
        });
        expect(result.ok).toBe(false);
        if (!result.ok) expect(result.code).toBe('MALFORMED_CREDENTIALS');
      }),
      tally.params(Math.ceil(200 * scale)),
    );
  });

  it('never authenticates a JWT whose header or claims were changed, or that another key signed', async () => {
    const jwt = split(valid.find((v) => v.family === 'jwt')?.header ?? '')[1];
    const { header, payload } = decodeParts(jwt);
    const signature = jwt.split('.')[2] ?? '';
    const field = fc.constantFrom(
      'alg',
      'kid',
      'typ',
      'crit',
      'b64',
      'jwk',
      'sub',
      'exp',
      'iat',
      'iss',
      'aud',
      'jti',
      'cid',
    );
    const value = fc.oneof(
      fc.constantFrom('none', 'HS256', 'ES256', 'RS256', 'eddsa', 'Ed25519', 'jwt', '2', '0', 'bob'),
      fc.constantFrom<unknown>(null, true, false, 0, -1, 2 ** 53, 1e308, [], {}, ['exp'], { kty: 'OKP' }),
      fc.integer(),
      fc.string({ maxLength: 20 }),
    );
    const signer = fc.constantFrom(
      'original signature',
      'another Ed25519 key',
      'HS256 with the public key',
      'unsigned',
    );
    const input = fc.tuple(fc.constantFrom('header', 'payload'), field, value, signer);
    await fc.assert(
      fc.asyncProperty(input, async ([part, name, newValue, how]) => {
        tally.tried(`${kind}: JWT with altered fields`);
        const h = { ...header };
        const p = { ...payload };
        const target = part === 'header' ? h : p;
        if (JSON.stringify(target[name]) === JSON.stringify(newValue) && how === 'original signature') return;
        target[name] = newValue;
        const publicDer = server.tessera.keyring.current.publicKey.export({ type: 'spki', format: 'der' });
        const token =
          how === 'original signature'
            ? `${craftJws(h, p)}${signature}`
            : how === 'another Ed25519 key'
              ? craftJws(h, p, ed25519(otherKey.privateKey))
              : how === 'HS256 with the public key'
                ? craftJws({ ...h, alg: 'HS256' }, p, hs256(publicDer))
                : craftJws({ ...h, alg: 'none' }, p);
        const result = await withHeader(`Bearer ${token}`);
        expect(result.ok, `${part}.${name} = ${JSON.stringify(newValue)}, ${how}`).toBe(false);
      }),
      tally.params(Math.ceil(1500 * scale)),
    );
  });

  it('never authenticates a Conjur token whose fields were changed or that another key signed', async () => {
    const clock = server.tessera.clock();
    const ttl = server.tessera.config.conjur.ttlMs;
    const keyring = { current: { ...server.tessera.keyring.current, privateKey: otherKey.privateKey } };
    const field = fc.constantFrom('data', 'timestamp', 'signature', 'key', 'protected', 'payload', 'extra');
    const value = fc.oneof(
      fc.constantFrom<unknown>('bob', 'alice ', 'ALICE', '', null, 1, [], {}),
      fc.string({ maxLength: 30 }),
    );
    const input = fc.tuple(fc.constantFrom<'legacy' | 'jws'>('legacy', 'jws'), field, value, fc.boolean());
    await fc.assert(
      fc.asyncProperty(input, async ([format, name, newValue, foreignKey]) => {
        tally.tried(`${kind}: Conjur token with altered fields`);
        const token: Record<string, unknown> = foreignKey
          ? issueConjurToken(keyring as never, { login: 'alice', userId: aliceId, validAfter: 0 }, clock, ttl, format)
          : issueConjurToken(
              server.tessera.keyring,
              { login: 'alice', userId: aliceId, validAfter: 0 },
              clock,
              ttl,
              format,
            );
        const unchanged = JSON.stringify(token[name]) === JSON.stringify(newValue);
        token[name] = newValue;
        const header = `Token token="${Buffer.from(JSON.stringify(token)).toString('base64')}"`;
        const result = await withHeader(header);
        expect(result.ok, `${format} ${name} = ${JSON.stringify(newValue)}, foreign key ${foreignKey}`).toBe(
          unchanged && !foreignKey,
        );
      }),
      tally.params(Math.ceil(1000 * scale)),
    );
  });

  it('never authenticates a mutated session cookie, a second one, or the CSRF token in its place', async () => {
    const shape = fc.constantFrom('mutated', 'doubled', 'csrf in its place', 'renamed');
    const input = fc.tuple(shape, fc.array(mutation, { minLength: 1, maxLength: 3 }), fc.boolean());
    await fc.assert(
      fc.asyncProperty(input, async ([how, mutations, whole]) => {
        tally.tried(`${kind}: mutated session cookie`);
        const base = `sessionid=${sessionSecret}; csrftoken=x`;
        const cookie =
          how === 'mutated'
            ? whole
              ? mutations.reduce(mutate, base)
              : `sessionid=${mutations.reduce(mutate, sessionSecret)}; csrftoken=x`
            : how === 'doubled'
              ? `${base}; sessionid=${mutations.reduce(mutate, sessionSecret)}`
              : how === 'csrf in its place'
                ? `sessionid=${mutations.reduce(mutate, csrfToken)}`
                : `${mutations.reduce(mutate, 'sessionid')}=${sessionSecret}`;
        const result = await authenticate({ headers: { cookie } });
        if (result.ok)
          expect(sameSessionCookie(sessionSecret, cookie), `accepted ${JSON.stringify(cookie)}`).toBe(true);
      }),
      tally.params(Math.ceil(2000 * scale)),
    );
  });
});

describe('the mutation oracle', () => {
  it('tells a respelled credential from a changed one', () => {
    const basic: Valid = { family: 'basic', header: basicHeader('alice', PASSWORD) };
    expect(sameCredential(basic, `BASIC  ${Buffer.from(`alice:${PASSWORD}\n`).toString('base64')}`)).toBe(true);
    expect(sameCredential(basic, basicHeader('alice', `${PASSWORD}x`))).toBe(false);
    expect(sameCredential(basic, `Bearer ${split(basic.header)[1]}`)).toBe(false);
    const conjur: Valid = {
      family: 'conjur-legacy',
      header: `Token token="${Buffer.from('{"a":1}').toString('base64')}"`,
    };
    expect(sameCredential(conjur, `token TOKEN=${Buffer.from('{ "a" : 1 }').toString('base64')}`)).toBe(true);
    expect(sameCredential(conjur, `Token token="${Buffer.from('{"a":2}').toString('base64')}"`)).toBe(false);
    expect(sameSessionCookie('s3cret', ' sessionid = "s3cret" ; x=1')).toBe(true);
    expect(sameSessionCookie('s3cret', 'sessionid=s3cret; sessionid=s3cret')).toBe(false);
    expect(mutate('abc', { op: 'flip', at: 1, text: 'b' })).not.toBe('abc');
  });
});
