import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { Authenticator, MAX_AUTHORIZATION_BYTES } from '../../src/auth/authenticate.js';
import { type AuthInput, authFailure } from '../../src/auth/principal.js';
import type { CredentialStore } from '../../src/credentials/credential-store.js';
import {
  API_KEY,
  API_SECRET,
  CONJUR_API_KEY,
  DRF_KEY,
  displayPrefix,
  newApiKey,
  newApiSecret,
  newConjurApiKey,
  newDrfKey,
  newPersonalToken,
  PERSONAL_TOKEN,
} from '../../src/credentials/formats.js';
import { RevocationEvents } from '../../src/credentials/revocation-events.js';
import { readBody } from '../../src/http/body.js';
import { clientAddress, isSecure } from '../../src/http/client-address.js';
import type { RequestContext } from '../../src/http/context.js';
import { parseCookies, serializeCookie } from '../../src/http/cookies.js';
import { checkCsrfToken, checkSameOrigin } from '../../src/http/csrf.js';
import { Fields } from '../../src/http/fields.js';
import { HttpError } from '../../src/http/http-error.js';
import { trimHttpWhitespace } from '../../src/http/whitespace.js';
import { decodeBasic } from '../../src/schemes/basic.js';
import { ConjurTokenScheme } from '../../src/schemes/conjur-token.js';
import { DrfTokenScheme } from '../../src/schemes/drf-token.js';
import { FrappeTokenScheme } from '../../src/schemes/frappe-token.js';
import { PersonalTokenScheme } from '../../src/schemes/personal-token.js';
import type { HeaderScheme } from '../../src/schemes/scheme.js';
import {
  type ConjurTokenFormat,
  decodeConjurHeader,
  issueConjurToken,
  verifyConjurToken,
} from '../../src/signing/conjur-token.js';
import { issueJwt, keyringKeys, verifyJwt } from '../../src/signing/jwt.js';
import type { Keyring, SigningKey } from '../../src/signing/keyring.js';
import { fingerprintOf } from '../helpers/conjur.js';
import { b64url } from '../helpers/jwt.js';
import { anyBytes, anyText, delimiterText, headerBytes, jsonValue, swapBase64Alphabet } from './arbitraries.js';
import { FuzzTally } from './fuzz-settings.js';

/**
 * Unit-level properties of every parser that reads what a client sends: whatever the input,
 * none throws anything but its documented refusal, malformed input gets the documented
 * "no credential" or error value, and where a formatter exists its output parses back.
 */
const tally = new FuzzTally('parsers.fuzz.test.ts');
afterAll(() => tally.report());

/** A property run under the shared seed, counting each input it is given. */
function check<T>(name: string, arbitrary: fc.Arbitrary<T>, runs: number, predicate: (value: T) => void): void {
  fc.assert(
    fc.property(arbitrary, (value) => {
      tally.tried(name);
      predicate(value);
    }),
    tally.params(runs),
  );
}

async function checkAsync<T>(
  name: string,
  arbitrary: fc.Arbitrary<T>,
  runs: number,
  predicate: (value: T) => Promise<void>,
): Promise<void> {
  await fc.assert(
    fc.asyncProperty(arbitrary, async (value) => {
      tally.tried(name);
      await predicate(value);
    }),
    tally.params(runs),
  );
}

/** An in-memory Ed25519 keyring of one key: enough for the token parsers, which only call `find`. */
function keyringOf(key: { publicKey: KeyObject; privateKey: KeyObject }): Keyring {
  const signing: SigningKey = {
    ...key,
    fingerprint: fingerprintOf(key.publicKey),
    createdAt: 0,
    rotatedAt: null,
    retireAfter: null,
  };
  return {
    current: signing,
    find: async (kid: string) => (kid === signing.fingerprint ? signing : undefined),
  } as unknown as Keyring;
}

const keyring = keyringOf(generateKeyPairSync('ed25519'));
const JWT_SETTINGS = { issuer: 'https://tessera.test', audience: 'tessera', ttlMs: 900_000, skewMs: 30_000 };
const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);

/** A cookie name browsers and the parser agree on: an RFC 6265 token. */
const cookieName = fc.string({ unit: fc.constantFrom(...'abcXYZ019_-.!#$&*+^`|~'), minLength: 1, maxLength: 12 });
/** RFC 6265 cookie-octets: no space, quote, comma, semicolon or backslash. */
const cookieValue = fc.string({
  unit: fc
    .integer({ min: 0x21, max: 0x7e })
    .map((c) => String.fromCharCode(c))
    .filter((c) => !'",;\\'.includes(c)),
  maxLength: 40,
});

describe('cookie parsing (http/cookies.ts)', () => {
  it('reads any Cookie header without throwing, yielding only trimmed non-empty names', () => {
    check('parseCookies: arbitrary header', fc.option(anyText, { nil: undefined }), 600, (header) => {
      const cookies = parseCookies(header);
      for (const [name, values] of cookies) {
        expect(name).not.toBe('');
        expect(name).toBe(trimHttpWhitespace(name));
        expect(name).not.toContain(';');
        for (const value of values) expect(value).not.toContain(';');
      }
    });
  });

  it('gives back every name=value pair of a header it could have been sent, repeated names in order', () => {
    const pairs = fc.array(fc.tuple(cookieName, cookieValue), { maxLength: 8 });
    check(
      'parseCookies: round trip of pairs',
      fc.tuple(pairs, fc.constantFrom(';', '; ', ' ;  ')),
      400,
      ([list, sep]) => {
        const parsed = parseCookies(list.map(([n, v]) => `${n}=${v}`).join(sep));
        const expected = new Map<string, string[]>();
        for (const [n, v] of list) expected.set(n, [...(expected.get(n) ?? []), v]);
        expect(parsed).toEqual(expected);
      },
    );
  });

  it('keeps U+00A0 and U+FEFF around a value, stripping only spaces and tabs (found by fuzzing)', () => {
    expect(parseCookies('sessionid=abc\u00a0; x=\ufeff1 ').get('sessionid')).toEqual(['abc\u00a0']);
    expect(parseCookies('sessionid=abc\u00a0; x=\ufeff1 ').get('x')).toEqual(['\ufeff1']);
    expect(parseCookies(' \tsessionid = abc \t').get('sessionid')).toEqual(['abc']);
  });

  it('parses what serializeCookie writes back to the same value', () => {
    check('serializeCookie → parseCookies', fc.tuple(cookieName, cookieValue, fc.boolean()), 300, ([n, v, secure]) => {
      const written = serializeCookie(n, v, { httpOnly: true, secure, maxAgeSeconds: 60 });
      // A browser sends back only the pair before the first attribute.
      expect(parseCookies(written.split(';')[0]).get(n)).toEqual([v]);
    });
  });
});

/** A real IncomingMessage whose body is `bytes`, as node:http would hand it to a route. */
function requestWith(headers: Record<string, string>, bytes: Uint8Array): IncomingMessage {
  const req = new IncomingMessage(new Socket());
  req.headers = headers;
  req.push(Buffer.from(bytes));
  req.push(null);
  return req;
}

const contentType = fc.oneof(
  fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'APPLICATION/JSON',
    'application/problem+json',
    'application/x-www-form-urlencoded',
    'text/plain',
    'multipart/form-data; boundary=x',
    '',
    ';',
  ),
  headerBytes,
);

describe('body parsing (http/body.ts)', () => {
  const LIMIT = 4096;

  it('answers any body under any Content-Type with an object or a 400, 413 or 415, never anything else', async () => {
    const body = fc.oneof(
      anyBytes,
      jsonValue.map((v) => new TextEncoder().encode(JSON.stringify(v) ?? '')),
      anyText.map((t) => new TextEncoder().encode(t)),
    );
    await checkAsync('readBody: arbitrary bytes', fc.tuple(contentType, body), 500, async ([type, bytes]) => {
      try {
        const value = await readBody(requestWith({ 'content-type': type }, bytes), LIMIT);
        expect(typeof value).toBe('object');
        expect(Array.isArray(value)).toBe(false);
        expect(value).not.toBeNull();
      } catch (error) {
        expect(error).toBeInstanceOf(HttpError);
        expect([400, 413, 415]).toContain((error as HttpError).status);
        expect(typeof ((error as HttpError).body as { detail?: unknown }).detail).toBe('string');
      }
    });
  });

  it('gives back any JSON object and any form it is sent', async () => {
    const form = fc.array(fc.tuple(fc.string({ unit: 'binary', maxLength: 10 }), fc.string({ unit: 'binary' })), {
      maxLength: 6,
    });
    const object = fc.dictionary(fc.string({ unit: 'binary', maxLength: 10 }), jsonValue, { maxKeys: 6 });
    await checkAsync('readBody: JSON and form round trip', fc.tuple(object, form), 300, async ([json, pairs]) => {
      const text = JSON.stringify(json);
      const parsed = await readBody(requestWith({ 'content-type': 'application/json' }, Buffer.from(text)), 1 << 20);
      expect(JSON.stringify(parsed)).toBe(text);

      const encoded = new URLSearchParams(pairs).toString();
      const fields = await readBody(
        requestWith({ 'content-type': 'application/x-www-form-urlencoded' }, Buffer.from(encoded)),
        1 << 20,
      );
      const expected: Record<string, string | string[]> = Object.create(null);
      for (const [k, v] of new URLSearchParams(encoded)) {
        const had = expected[k];
        expected[k] = had === undefined ? v : [...(Array.isArray(had) ? had : [had]), v];
      }
      expect(fields).toEqual(expected);
    });
  });

  it('refuses a body past the limit with 413, whether or not its length was declared', async () => {
    const size = fc.integer({ min: LIMIT + 1, max: LIMIT * 3 });
    await checkAsync('readBody: over the limit', fc.tuple(size, fc.boolean()), 100, async ([n, declare]) => {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (declare) headers['content-length'] = String(n);
      await expect(readBody(requestWith(headers, Buffer.alloc(n, 0x20)), LIMIT)).rejects.toMatchObject({ status: 413 });
    });
  });
});

describe('typed fields (http/fields.ts)', () => {
  it('never coerces: a string field is a NUL-free string or an error, and check() throws only a 400', () => {
    const body = fc.dictionary(fc.constantFrom('username', 'password', 'is_active', 'scopes', 'x'), jsonValue);
    check('Fields: arbitrary JSON bodies', fc.tuple(body, fc.boolean()), 800, ([value, required]) => {
      const fields = new Fields(value);
      const text = fields.string('username', { required });
      if (text !== undefined) {
        expect(value.username).toBe(text);
        expect(text).not.toContain('\u0000');
      }
      const flag = fields.boolean('is_active');
      if (flag !== undefined)
        expect([true, false, 'true', 'True', '1', 'false', 'False', '0']).toContain(value.is_active);
      const list = fields.stringList('scopes');
      if (list !== undefined) expect(list.every((s) => typeof s === 'string')).toBe(true);
      try {
        fields.check();
      } catch (error) {
        expect(error).toBeInstanceOf(HttpError);
        expect((error as HttpError).status).toBe(400);
        for (const messages of Object.values((error as HttpError).body as Record<string, unknown>)) {
          expect(Array.isArray(messages) && messages.every((m) => typeof m === 'string')).toBe(true);
        }
      }
    });
  });
});

/** The parts of an IncomingMessage the address functions read. */
function fakeReq(peer: string, headers: Record<string, string>, encrypted = false): IncomingMessage {
  return { socket: { remoteAddress: peer, encrypted }, headers } as unknown as IncomingMessage;
}

describe('client address and scheme (http/client-address.ts)', () => {
  const address = fc.oneof(
    fc.ipV4(),
    fc.ipV6(),
    fc.ipV4().map((a) => `::ffff:${a}`),
    fc.constantFrom('', 'unknown', '::ffff:'),
    delimiterText,
  );
  const forwarded = fc.oneof(
    fc.array(address, { maxLength: 5 }).map((hops) => hops.join(', ')),
    anyText,
  );

  it('believes X-Forwarded-For only from a trusted proxy, and then answers an untrusted hop or the peer', () => {
    const input = fc.tuple(address, forwarded, fc.array(address, { maxLength: 3 }), fc.boolean());
    check('clientAddress/isSecure: arbitrary peers and hops', input, 800, ([peer, xff, proxies, trustPeer]) => {
      const trusted = new Set(trustPeer ? [...proxies, peer.replace(/^::ffff:(?=.*\.)/, '')] : proxies);
      const req = fakeReq(peer, { 'x-forwarded-for': xff, 'x-forwarded-proto': 'https' });
      const normalPeer = peer.startsWith('::ffff:') && peer.includes('.') ? peer.slice(7) : peer;
      const found = clientAddress(req, trusted);
      if (!trusted.has(normalPeer)) expect(found).toBe(normalPeer);
      else if (found !== normalPeer) {
        expect(trusted.has(found)).toBe(false);
        const hops = xff.split(',').map((h) => h.trim().replace(/^::ffff:(?=.*\.)/, ''));
        expect(hops).toContain(found);
      }
      expect(isSecure(req, trusted)).toBe(trusted.has(normalPeer));
      expect(isSecure(fakeReq(peer, {}), trusted)).toBe(false);
    });
  });
});

/** A request context with only what the CSRF checks read. */
function csrfContext(headers: Record<string, string>, secure: boolean, trustedOrigins: string[]): RequestContext {
  return {
    secure,
    header: (name: string) => headers[name],
    tessera: { config: { trustedOrigins, session: { csrfHeaderName: 'x-csrftoken' } } },
  } as unknown as RequestContext;
}

/** What a refusal must look like: a 403 with a string detail. */
function expectForbidden(action: () => void): boolean {
  try {
    action();
    return true;
  } catch (error) {
    expect(error).toBeInstanceOf(HttpError);
    expect((error as HttpError).status).toBe(403);
    expect(typeof ((error as HttpError).body as { detail?: unknown }).detail).toBe('string');
    return false;
  }
}

describe('CSRF checks (http/csrf.ts)', () => {
  const origin = fc.oneof(
    fc.constantFrom('http://tessera.test', 'HTTP://Tessera.Test', 'https://tessera.test', 'null', 'https://app.test'),
    fc.webUrl(),
    anyText,
  );
  const header = (arb: fc.Arbitrary<string>) => fc.option(arb, { nil: undefined });

  it('passes a request only when its Origin (or, over HTTPS, Referer) is our own or trusted', () => {
    const input = fc.record({
      origin: header(origin),
      referer: header(fc.oneof(fc.webUrl(), origin)),
      site: header(fc.constantFrom('cross-site', 'same-site', 'same-origin', 'none')),
      secure: fc.boolean(),
      requireReferer: fc.boolean(),
    });
    check('checkSameOrigin: arbitrary origins', input, 800, ({ origin: o, referer, site, secure, requireReferer }) => {
      const headers: Record<string, string> = { host: 'tessera.test' };
      if (o !== undefined) headers.origin = o;
      if (referer !== undefined) headers.referer = referer;
      if (site !== undefined) headers['sec-fetch-site'] = site;
      const trusted = ['https://app.test'];
      const passed = expectForbidden(() => checkSameOrigin(csrfContext(headers, secure, trusted), { requireReferer }));
      const own = `${secure ? 'https' : 'http'}://tessera.test`;
      const allowed = (value: string) => value === own || trusted.includes(value);
      let expected = site !== 'cross-site';
      if (expected && o !== undefined) expected = allowed(o.toLowerCase());
      else if (expected && secure && requireReferer) {
        expected = referer !== undefined && URL.canParse(referer) && allowed(new URL(referer).origin.toLowerCase());
      }
      expect(passed).toBe(expected);
    });
  });

  it('passes a CSRF token only when it equals the session’s exactly', () => {
    const expectedToken = 'k3Y-token_VALUE-0123456789abcdefghijklmnopq';
    const sent = fc.oneof(
      anyText,
      fc.constant(expectedToken),
      fc.nat(expectedToken.length).map((n) => expectedToken.slice(0, n)),
      fc.constant(expectedToken.toUpperCase()),
      fc.constant(` ${expectedToken}`),
    );
    check('checkCsrfToken: arbitrary tokens', sent, 500, (token) => {
      const passed = expectForbidden(() =>
        checkCsrfToken(csrfContext({ 'x-csrftoken': token }, false, []), expectedToken),
      );
      expect(passed).toBe(token === expectedToken);
    });
  });
});

const BASIC_RE_ENCODINGS = (left: string, right: string) =>
  ['', '\n', '\r\n'].map((end) => Buffer.from(`${left}:${right}${end}`, 'utf8').toString('base64'));

/** True when the text holds a C0 control character or DEL. */
const hasControl = (text: string) => [...text].some((c) => c.charCodeAt(0) < 0x20 || c === '\u007f');

/** Text without control characters: what a username or password can hold. */
const noControls = fc
  .string({ unit: 'binary', maxLength: 40 })
  .map((s) => [...s].filter((c) => !hasControl(c)).join(''));

describe('Basic credentials (schemes/basic.ts decodeBasic)', () => {
  it('decodes only canonical base64 of left:right, so one header is one credential', () => {
    const input = fc.oneof(
      anyText,
      anyBytes.map((b) => Buffer.from(b).toString('base64')),
      fc.tuple(noControls, noControls).map(([l, r]) => Buffer.from(`${l}:${r}`).toString('base64')),
      fc.tuple(noControls, noControls).map(([l, r]) => swapBase64Alphabet(Buffer.from(`${l}:${r}`).toString('base64'))),
    );
    check('decodeBasic: arbitrary credentials', input, 1000, (credentials) => {
      const result = decodeBasic(credentials);
      if (typeof result === 'string') {
        expect(result).toMatch(/^Invalid basic header\. /);
        return;
      }
      const [left, right] = result;
      expect(left).not.toBe('');
      expect(left).not.toContain(':');
      expect(hasControl(`${left}${right}`)).toBe(false);
      expect(BASIC_RE_ENCODINGS(left, right)).toContain(credentials);
    });
  });

  it('gives back any username and password, colons in the password included', () => {
    const user = noControls.map((s) => s.replace(/:/g, '')).filter((s) => s !== '');
    const password = fc.oneof(
      noControls,
      noControls.map((s) => `:${s}::${s}:`),
    );
    check('decodeBasic: round trip', fc.tuple(user, password), 600, ([left, right]) => {
      const credentials = Buffer.from(`${left}:${right}`, 'utf8').toString('base64');
      expect(decodeBasic(credentials)).toEqual([left, right]);
    });
  });
});

/** A credential store that fails the test if a lookup is made: garbage must never cost a query. */
function storeThatMustNotBeAsked(allowed: (kind: string, lookup: string) => boolean): CredentialStore {
  return {
    find: async (kind: string, lookup: string) => {
      if (!allowed(kind, lookup)) throw new Error(`unexpected ${kind} lookup`);
      return undefined;
    },
    touch: async () => undefined,
  } as unknown as CredentialStore;
}

describe('Token, Bearer and key-pair headers (schemes/*.ts)', () => {
  const tokenCredentials = fc.oneof(
    anyText,
    fc.stringMatching(/^[0-9a-f]{40}$/),
    fc.tuple(fc.stringMatching(/^[0-9a-f]{16}$/), fc.stringMatching(/^[0-9a-f]{40}$/)).map(([k, s]) => `${k}:${s}`),
    anyText.map((t) => `token="${t}"`),
    anyText.map((t) => `${t}:${t}`),
  );

  it('gives every Token credential to exactly one of DRF, Frappe and Conjur', () => {
    const schemes: HeaderScheme[] = [
      new DrfTokenScheme(storeThatMustNotBeAsked(() => false)),
      new FrappeTokenScheme(storeThatMustNotBeAsked(() => false)),
      new ConjurTokenScheme(
        {} as never,
        keyring,
        {} as never,
        () => NOW,
        { ttlMs: 1, skewMs: 1, cacheEntries: 1 },
        new RevocationEvents(),
      ),
    ];
    check('Token schemes: one owner per credential', tokenCredentials, 800, (credentials) => {
      expect(schemes.filter((s) => s.accepts(credentials))).toHaveLength(1);
    });
  });

  it('refuses malformed DRF, Frappe and personal tokens without a database lookup', async () => {
    let sent = '';
    const drf = new DrfTokenScheme(storeThatMustNotBeAsked((kind) => kind.startsWith('drf') && DRF_KEY.test(sent)));
    const frappe = new FrappeTokenScheme(
      storeThatMustNotBeAsked((kind, key) => kind === 'api-key' && API_KEY.test(key)),
    );
    const personal = new PersonalTokenScheme(
      storeThatMustNotBeAsked((kind) => kind === 'personal' && PERSONAL_TOKEN.test(sent)),
    );
    const input = fc.oneof(
      tokenCredentials,
      anyText.map((t) => `tsr_${t}`),
      fc.stringMatching(/^tsr_[A-Za-z0-9_-]{40}$/),
    );
    await checkAsync('DRF/Frappe/personal: arbitrary credentials', input, 800, async (credentials) => {
      sent = credentials;
      for (const scheme of [drf, frappe, personal]) {
        if (!scheme.accepts(credentials)) continue;
        const result = await scheme.authenticate(credentials);
        // Nothing is stored, so nothing may pass; a refusal is one of the documented codes.
        expect(result.ok).toBe(false);
        if (!result.ok) expect(['MALFORMED_CREDENTIALS', 'INVALID_CREDENTIALS']).toContain(result.code);
      }
    });
  });

  it('matches freshly made secrets to their patterns, and no one-character change outside the alphabet', () => {
    const makers: Array<[() => string, RegExp]> = [
      [newDrfKey, DRF_KEY],
      [newApiKey, API_KEY],
      [newApiSecret, API_SECRET],
      [newPersonalToken, PERSONAL_TOKEN],
      [newConjurApiKey, CONJUR_API_KEY],
    ];
    const input = fc.tuple(
      fc.nat(makers.length - 1),
      fc.nat(),
      fc.constantFrom('G', 'I', 'L', 'O', 'U', '=', ' ', '\u0000', 'é', '.'),
    );
    check('formats: made secrets and one-character changes', input, 500, ([which, at, junk]) => {
      const [make, pattern] = makers[which] ?? makers[0] ?? [newDrfKey, DRF_KEY];
      const secret = make();
      expect(secret).toMatch(pattern);
      const i = at % secret.length;
      const changed = `${secret.slice(0, i)}${junk}${secret.slice(i + 1)}`;
      const stillFits = pattern.source.includes('A-Z') && /[A-Z]/.test(junk) && i >= 4;
      expect(pattern.test(changed)).toBe(stillFits);
      if (make === newPersonalToken) expect(secret.startsWith(displayPrefix(secret))).toBe(true);
    });
  });
});

/** A scheme that records what it was handed, to check the dispatcher's parsing alone. */
class Recorder implements HeaderScheme {
  readonly source = 'authorization';
  readonly challenge: string;
  readonly form: string;
  seen: string | undefined;

  constructor(readonly authorizationScheme: string) {
    this.challenge = `${authorizationScheme} realm="x"`;
    this.form = `${authorizationScheme} <x>`;
  }

  accepts(): boolean {
    return true;
  }

  async authenticate(credentials: string) {
    this.seen = credentials;
    return authFailure('INVALID_CREDENTIALS', this.challenge);
  }
}

describe('the Authorization dispatcher (auth/authenticate.ts)', () => {
  it('answers any header value, single or repeated, with a failure value and never throws', async () => {
    const token = new Recorder('Token');
    const basic = new Recorder('Basic');
    const authenticator = new Authenticator([token, basic]);
    const value = fc.oneof(
      anyText,
      fc
        .tuple(
          fc.constantFrom('Token', 'tOKEN', 'basic', 'BASIC', 'Bearer', ''),
          fc.constantFrom(' ', '  ', '\t', ' \t '),
          anyText,
        )
        .map(([s, gap, rest]) => `${s}${gap}${rest}`),
    );
    const input = fc.oneof(
      value.map((v): AuthInput => ({ headers: { authorization: v } })),
      fc.array(value, { minLength: 2, maxLength: 3 }).map((v): AuthInput => ({ headers: { authorization: v } })),
      fc
        .array(value, { minLength: 2, maxLength: 3 })
        .map((v): AuthInput => ({ headers: { authorization: v.join(', ') }, headersDistinct: { authorization: v } })),
    );
    await checkAsync('Authenticator: arbitrary Authorization headers', input, 800, async (request) => {
      token.seen = undefined;
      basic.seen = undefined;
      const result = await authenticator.authenticate(request);
      expect(result.ok).toBe(false);
      const header = request.headers.authorization;
      const single = typeof header === 'string' && (request.headersDistinct?.authorization?.length ?? 1) === 1;
      if (!single || (header as string).length > MAX_AUTHORIZATION_BYTES) {
        expect(token.seen ?? basic.seen).toBeUndefined();
        if (!result.ok) expect(result.code).toBe('MALFORMED_CREDENTIALS');
        return;
      }
      const trimmed = trimHttpWhitespace(header as string);
      const gap = trimmed.search(/[ \t]/);
      const name = (gap < 0 ? trimmed : trimmed.slice(0, gap)).toLowerCase();
      const handed = name === 'token' ? token.seen : name === 'basic' ? basic.seen : undefined;
      if (name === 'token' || name === 'basic')
        expect(handed).toBe(gap < 0 ? '' : trimHttpWhitespace(trimmed.slice(gap + 1)));
      else if (!result.ok) expect(result.code).toBe('UNSUPPORTED_SCHEME');
    });
  });
});

describe('signed tokens (signing/jwt.ts, signing/conjur-token.ts)', () => {
  const jsonPart = fc.oneof(
    jsonValue.map((v) => b64url(JSON.stringify(v) ?? '')),
    anyText.map((t) => b64url(t)),
  );
  const jwtShaped = fc.oneof(
    anyText,
    fc.tuple(jsonPart, jsonPart, anyBytes).map(([h, p, s]) => `${h}.${p}.${b64url(Buffer.from(s))}`),
    fc
      .tuple(jsonPart, jsonPart)
      .map(([h, p]) =>
        [b64url(JSON.stringify({ alg: 'EdDSA', typ: 'JWT', kid: keyring.current.fingerprint })), p, h].join('.'),
      ),
  );

  it('refuses any JWT it did not sign, without throwing', async () => {
    await checkAsync('verifyJwt: arbitrary tokens', jwtShaped, 800, async (token) => {
      const verdict = await verifyJwt(token, keyringKeys(keyring), JWT_SETTINGS, NOW);
      expect(verdict.ok).toBe(false);
      if (!verdict.ok) expect(typeof verdict.reason).toBe('string');
    });
  });

  it('verifies every JWT it issues back to the same subject, credential and scopes', async () => {
    const subject = fc.record({
      userId: fc.integer({ min: 1, max: 2 ** 40 }),
      credentialId: fc.integer({ min: 0, max: 2 ** 40 }),
      credentialKind: fc.string({ unit: 'binary', maxLength: 20 }),
      scopes: fc.option(fc.array(fc.stringMatching(/^[!-~]{1,12}$/), { maxLength: 4 }), { nil: null }),
    });
    await checkAsync('issueJwt → verifyJwt: round trip', subject, 150, async (s) => {
      const { token, jti } = await issueJwt(keyring, JWT_SETTINGS, s, NOW);
      const verdict = await verifyJwt(token, keyringKeys(keyring), JWT_SETTINGS, NOW);
      expect(verdict).toEqual({
        ok: true,
        claims: expect.objectContaining({ sub: String(s.userId), jti, cid: s.credentialId, ckind: s.credentialKind }),
      });
      if (verdict.ok) expect(verdict.claims.scope?.split(' ').filter(Boolean) ?? null).toEqual(s.scopes);
    });
  });

  it('decodes a Conjur header only from strict base64 of a JSON object', () => {
    const object = fc.dictionary(fc.string({ maxLength: 8 }), jsonValue, { maxKeys: 5 });
    const input = fc.oneof(
      anyText,
      object.map((o) => Buffer.from(JSON.stringify(o)).toString('base64')),
      object.map((o) => swapBase64Alphabet(Buffer.from(JSON.stringify(o)).toString('base64'))),
      jsonValue.map((v) => Buffer.from(JSON.stringify(v) ?? '').toString('base64')),
      anyBytes.map((b) => Buffer.from(b).toString('base64')),
    );
    check('decodeConjurHeader: arbitrary values', input, 800, (encoded) => {
      const decoded = decodeConjurHeader(encoded);
      if (typeof decoded === 'string') return;
      expect(decoded !== null && typeof decoded === 'object' && !Array.isArray(decoded)).toBe(true);
      expect(Buffer.from(encoded, 'base64').toString('base64')).toBe(encoded);
    });
  });

  it('refuses any Conjur token object it did not sign, and verifies the ones it issues for any login', async () => {
    const forged = fc.oneof(
      fc.dictionary(fc.constantFrom('data', 'timestamp', 'signature', 'key', 'protected', 'payload', 'x'), jsonValue),
      fc.record({
        data: fc.string(),
        timestamp: fc.constant('2026-01-15 12:00:00 UTC'),
        signature: anyBytes.map((b) => Buffer.from(b).toString('base64url')),
        key: fc.constant(keyring.current.fingerprint),
      }),
    );
    const limits = { ttlMs: 480_000, skewMs: 30_000 };
    await checkAsync('verifyConjurToken: unsigned objects', forged, 600, async (token) => {
      expect((await verifyConjurToken(token, keyring, NOW, limits, async () => 1)).ok).toBe(false);
    });
    const issued = fc.tuple(
      fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
      fc.constantFrom<ConjurTokenFormat>('legacy', 'jws'),
    );
    await checkAsync('issueConjurToken → verify: round trip', issued, 150, async ([login, format]) => {
      const token = issueConjurToken(keyring, { login, userId: 1, validAfter: 0 }, NOW, limits.ttlMs, format);
      const decoded = decodeConjurHeader(Buffer.from(JSON.stringify(token)).toString('base64'));
      if (typeof decoded === 'string') throw new Error(decoded);
      const verdict = await verifyConjurToken(decoded, keyring, NOW, limits, async () => 1);
      expect(verdict.ok && verdict.claims.login).toBe(Buffer.from(login, 'utf8').toString('utf8'));
    });
  });
});
