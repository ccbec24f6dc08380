import { describe, expect, it } from 'vitest';
import { RevocationEvents } from '../credentials/revocation-events.js';
import { BasicScheme } from '../schemes/basic.js';
import { BearerJwtScheme } from '../schemes/bearer-jwt.js';
import { ConjurTokenScheme } from '../schemes/conjur-token.js';
import { DrfTokenScheme } from '../schemes/drf-token.js';
import { FrappeTokenScheme } from '../schemes/frappe-token.js';
import { PersonalTokenScheme } from '../schemes/personal-token.js';
import type { CookieScheme, HeaderScheme, Scheme } from '../schemes/scheme.js';
import { Authenticator, MAX_AUTHORIZATION_BYTES } from './authenticate.js';
import { type AuthInput, type AuthResult, authFailure } from './principal.js';

/**
 * The server's header schemes, in the server's order, each kept whole for its name, form,
 * challenge and accepts() — the rule under test — while authenticate() only records which
 * scheme the Authenticator chose and with what. No store is built: choosing is by form alone
 * (SECURITY E4), so nothing here may need one.
 */
function realSchemes() {
  const none = undefined as never;
  const events = new RevocationEvents();
  const signed = { skewMs: 30_000, cacheEntries: 10 };
  const jwt = { issuer: 'https://tessera.test', audience: 'tessera', ttlMs: 300_000 };
  const schemes: Record<string, HeaderScheme> = {
    drf: new DrfTokenScheme(none),
    frappe: new FrappeTokenScheme(none),
    basic: new BasicScheme(none, none, none, () => 0, { ttlMs: 1_000, maxEntries: 10 }, events),
    conjur: new ConjurTokenScheme(none, none, none, () => 0, { ttlMs: 480_000, ...signed }, events),
    personal: new PersonalTokenScheme(none),
    jwt: new BearerJwtScheme(none, none, () => 0, { ...jwt, ...signed }, events, none),
  };
  const chosen: Array<[string, string]> = [];
  const recording = Object.entries(schemes).map(
    ([label, scheme]): HeaderScheme =>
      Object.assign(Object.create(scheme) as HeaderScheme, {
        async authenticate(credentials: string): Promise<AuthResult> {
          chosen.push([label, credentials]);
          return authFailure('INVALID_CREDENTIALS', scheme.challenge);
        },
      }),
  );
  return { recording, chosen };
}

/** A cookie scheme that records being asked and answers as told. */
function cookieScheme(answer: AuthResult, asked: string[]): CookieScheme {
  return {
    source: 'cookie',
    challenge: 'Session',
    async authenticate() {
      asked.push('cookie');
      return answer;
    },
  };
}

const request = (authorization?: string | string[], distinct?: string[]): AuthInput => ({
  headers: { authorization, cookie: 'sessionid=abc' },
  ...(distinct && { headersDistinct: { authorization: distinct } }),
});

describe('Authenticator: the header form alone chooses the scheme', () => {
  const jwt = 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiIxIn0.c2ln';
  const token = `tsr_${'A'.repeat(40)}`;
  const drfKey = 'a'.repeat(40);
  const cases: Array<[string, string, string]> = [
    [`Token ${drfKey}`, 'drf', drfKey],
    [`token ${drfKey}`, 'drf', drfKey],
    ['token key:secret', 'frappe', 'key:secret'],
    ['TOKEN key:secret', 'frappe', 'key:secret'],
    ['Token token="eyJ9"', 'conjur', 'token="eyJ9"'],
    ['Token token="a:b"', 'conjur', 'token="a:b"'],
    ['Basic YWxpY2U6cHc=', 'basic', 'YWxpY2U6cHc='],
    ['basic   YWxpY2U6cHc=  ', 'basic', 'YWxpY2U6cHc='],
    [`Bearer ${token}`, 'personal', token],
    [`Bearer ${jwt}`, 'jwt', jwt],
    [`bearer \t${jwt}`, 'jwt', jwt],
  ];
  for (const [header, label, credentials] of cases) {
    it(`hands ${JSON.stringify(header)} to ${label}`, async () => {
      const { recording, chosen } = realSchemes();
      const asked: string[] = [];
      const authenticator = new Authenticator([...recording, cookieScheme({ ok: false } as AuthResult, asked)]);
      await authenticator.authenticate(request(header));
      expect(chosen).toEqual([[label, credentials]]);
      // An Authorization header decides alone: the cookie is never consulted (SECURITY D6).
      expect(asked).toEqual([]);
    });
  }

  it('refuses a Bearer value that is neither a personal token nor a JWT, naming both forms', async () => {
    const { recording, chosen } = realSchemes();
    const result = await new Authenticator(recording).authenticate(request('Bearer not-a-token'));
    expect(result).toEqual({
      ok: false,
      code: 'MALFORMED_CREDENTIALS',
      message: 'Malformed bearer header; expected Bearer tsr_<token> or Bearer <JWT>.',
      challenge: 'Bearer realm="tessera"',
    });
    expect(chosen).toEqual([]);
  });

  it('refuses an unknown scheme, listing every form it would take', async () => {
    const { recording, chosen } = realSchemes();
    const result = await new Authenticator(recording).authenticate(request('Digest username="alice"'));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.code).toBe('UNSUPPORTED_SCHEME');
    for (const scheme of recording) expect(result.message).toContain(scheme.form);
    expect(chosen).toEqual([]);
  });

  it('refuses two Authorization headers, an array of them, and one over the size limit, choosing no scheme', async () => {
    const { recording, chosen } = realSchemes();
    const authenticator = new Authenticator(recording);
    const twice = await authenticator.authenticate(request('Token a', ['Token a', 'Token b']));
    const array = await authenticator.authenticate(request(['Token a', 'Token b']));
    const long = await authenticator.authenticate(request(`Basic ${'a'.repeat(MAX_AUTHORIZATION_BYTES)}`));
    expect([twice, array, long].map((r) => !r.ok && [r.code, r.message])).toEqual([
      ['MALFORMED_CREDENTIALS', 'Send exactly one Authorization header.'],
      ['MALFORMED_CREDENTIALS', 'Send exactly one Authorization header.'],
      ['MALFORMED_CREDENTIALS', 'The Authorization header is too long.'],
    ]);
    expect(chosen).toEqual([]);
  });

  it('without the header asks the cookie schemes in order until one answers other than "no credentials"', async () => {
    const asked: string[] = [];
    const absent = authFailure('NO_CREDENTIALS', 'Session');
    const answered = authFailure('INVALID_CREDENTIALS', 'Session');
    const schemes: Scheme[] = [cookieScheme(absent, asked), cookieScheme(answered, asked), cookieScheme(absent, asked)];
    expect(await new Authenticator(schemes).authenticate(request())).toBe(answered);
    expect(asked).toEqual(['cookie', 'cookie']);

    const nobody = await new Authenticator([cookieScheme(absent, [])]).authenticate(request());
    expect(nobody).toMatchObject({ ok: false, code: 'NO_CREDENTIALS' });
  });

  it('joins each distinct challenge once, for a 401 with no more specific one', () => {
    const { recording } = realSchemes();
    expect(new Authenticator(recording).challenge).toBe(
      'Token, Basic realm="tessera", charset="UTF-8", Token realm="conjur", Bearer realm="tessera"',
    );
  });
});
