import { afterEach, beforeEach, expect, it } from 'vitest';
import { base64 as b64 } from './helpers/credentials.js';
import { describeEachDatabase, login, PASSWORD, startServer, type TestServer } from './helpers/harness.js';
import { sendRawRequest } from './helpers/raw-socket.js';
import { api } from './helpers/requests.js';
import { BASE64URL, HEX, PRINTABLE, SeededRandom } from './helpers/seeded-random.js';

const BAD_BASE64 = 'Invalid basic header. Credentials not correctly base64 encoded.';
const CONTROL = 'Invalid basic header. Credentials contain control characters.';
const UNSUPPORTED = /^Unsupported Authorization scheme/;
const FRAPPE_MALFORMED = 'Malformed token header; expected token <api_key>:<api_secret>.';
const BEARER_MALFORMED = 'Malformed bearer token; expected Bearer tsr_<token>.';
const BEARER_UNCLAIMED = /^Malformed bearer header; expected Bearer tsr_<token>/;

/**
 * Malformed `Authorization` values sendable through `fetch`, each with the detail its scheme
 * answers — which also proves which parser took it (SECURITY H, E2).
 */
const CASES: Array<[label: string, value: string, detail: string | RegExp]> = [
  ['Token alone', 'Token', 'Invalid token header. No credentials provided.'],
  ['Token with two parts', 'Token a b', 'Invalid token header. Token string should not contain spaces.'],
  [
    'Token with three parts',
    `Token ${'0'.repeat(40)} x y`,
    'Invalid token header. Token string should not contain spaces.',
  ],
  [
    'Token with a Latin-1 byte',
    'Token clé',
    'Invalid token header. Token string should not contain invalid characters.',
  ],
  ['Token with printable junk', 'Token <>{}|\\^~[]!@#$%&*()', 'Invalid token.'],
  ['Token of 40 non-hex characters', `Token ${'g'.repeat(40)}`, 'Invalid token.'],
  ['Token of 40 upper-case hex', `Token ${'A'.repeat(40)}`, 'Invalid token.'],
  ['Token of 41 hex', `Token ${'0'.repeat(41)}`, 'Invalid token.'],
  ['an unknown well-formed Token', `Token ${'0'.repeat(40)}`, 'Invalid token.'],
  ['token key: (empty secret)', 'token key:', FRAPPE_MALFORMED],
  ['token :secret (empty key)', 'token :secret', FRAPPE_MALFORMED],
  ['token : alone', 'token :', FRAPPE_MALFORMED],
  ['token key:secret with a space', `token ${'a'.repeat(16)}:${'b'.repeat(20)} ${'c'.repeat(19)}`, FRAPPE_MALFORMED],
  ['an unknown well-formed key pair', `token ${'a'.repeat(16)}:${'b'.repeat(40)}`, 'Invalid credentials.'],
  ['a Conjur token= that is not base64 JSON', 'Token token="abc"', /\S/],
  ['Basic alone', 'Basic', 'Invalid basic header. No credentials provided.'],
  ['Basic of bad base64', 'Basic !!!', BAD_BASE64],
  ['Basic with a stray =', 'Basic YWJj=', BAD_BASE64],
  ['Basic without padding', 'Basic YWxpY2U6cGFzcw', BAD_BASE64],
  ['Basic with non-zero padding bits', 'Basic YWJjZB==', BAD_BASE64],
  ['Basic with trailing junk', 'Basic YWxpY2U6cGFzcw==junk', BAD_BASE64],
  ['Basic of url-safe base64', `Basic ${Buffer.from([0xfb, 0xff, 0x3a, 0x61]).toString('base64url')}`, BAD_BASE64],
  [
    'Basic with a space inside',
    'Basic YWxp Y2U6',
    'Invalid basic header. Credentials string should not contain spaces.',
  ],
  [
    'Basic without a colon',
    `Basic ${b64('alice')}`,
    'Invalid basic header. Credentials should be <username>:<password>.',
  ],
  ['Basic of a colon alone', `Basic ${b64(':')}`, 'Invalid basic header. The username is empty.'],
  ['Basic with an empty username', `Basic ${b64(`:${PASSWORD}`)}`, 'Invalid basic header. The username is empty.'],
  ['Basic of the empty string', `Basic ${b64('')}`, 'Invalid basic header. No credentials provided.'],
  [
    'Basic of invalid UTF-8',
    `Basic ${b64(Buffer.from([0xff, 0xfe, 0x3a, 0xc3, 0x28]))}`,
    'Invalid basic header. Credentials are not valid UTF-8.',
  ],
  ['Basic with a NUL', `Basic ${b64('ali\u0000ce:pw')}`, CONTROL],
  ['Basic with a BEL in the password', `Basic ${b64('alice:pass\u0007word')}`, CONTROL],
  // One trailing newline is dropped (seed 004 builds the header with `echo … | base64`); a
  // newline anywhere else is a control character.
  ['Basic with a newline inside', `Basic ${b64(`alice:${PASSWORD}\nx`)}`, CONTROL],
  ['Basic with two trailing newlines', `Basic ${b64(`alice:${PASSWORD}\n\n`)}`, CONTROL],
  ['Basic with DEL', `Basic ${b64('alice:\u007f')}`, CONTROL],
  ['Bearer alone', 'Bearer', BEARER_UNCLAIMED],
  ['Bearer of a short tsr_', 'Bearer tsr_short', BEARER_MALFORMED],
  ['Bearer of a long tsr_', `Bearer tsr_${'A'.repeat(41)}`, BEARER_MALFORMED],
  ['Bearer with a character outside base64url', `Bearer tsr_${'A'.repeat(39)}+`, BEARER_MALFORMED],
  ['Bearer of an unsigned JWT', 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.', /\S/],
  ['an unknown well-formed Bearer', `Bearer tsr_${'A'.repeat(40)}`, 'Invalid token.'],
  ['Digest', 'Digest x', UNSUPPORTED],
  ['Negotiate', 'Negotiate YII=', UNSUPPORTED],
  ['a bare token with no scheme', `tsr_${'A'.repeat(40)}`, UNSUPPORTED],
  ['a scheme glued to its credentials', `Token:${'0'.repeat(40)}`, UNSUPPORTED],
  ['an empty header', '', UNSUPPORTED],
  ['odd case tOkEn', `tOkEn ${'0'.repeat(40)}`, 'Invalid token.'],
  ['odd case TOKEN pair', 'TOKEN key:', FRAPPE_MALFORMED],
  ['odd case BASIC', 'BASIC !!!', BAD_BASE64],
  ['odd case bAsIc', `bAsIc ${b64('alice')}`, 'Invalid basic header. Credentials should be <username>:<password>.'],
  ['odd case BEARER', 'BEARER tsr_short', BEARER_MALFORMED],
  ['two spaces after Token', `Token  ${'0'.repeat(40)}`, 'Invalid token.'],
  ['a tab after Token', `Token\t${'0'.repeat(40)}`, 'Invalid token.'],
  ['a tab after Basic', 'Basic\t!!!', BAD_BASE64],
  ['spaces and a tab after Bearer', 'Bearer \t tsr_short', BEARER_MALFORMED],
  ['two credentials joined by a comma', `Token ${'0'.repeat(40)}, Basic ${b64('a:b')}`, /should not contain spaces/],
  ['a header over 8 KiB', `Token ${'a'.repeat(9000)}`, 'The Authorization header is too long.'],
  ['Basic over 8 KiB', `Basic ${b64(`alice:${'p'.repeat(7000)}`)}`, 'The Authorization header is too long.'],
];

/** Asserts the answer every bad credential must get: 401, a JSON detail, a challenge. */
async function expectRefused(response: Response, label: string, detail?: string | RegExp): Promise<void> {
  const text = await response.text();
  expect(response.status, `${label}: ${text}`).toBe(401);
  expect(response.headers.get('content-type'), label).toBe('application/json');
  expect(response.headers.get('www-authenticate'), label).toMatch(/\S/);
  const body = JSON.parse(text) as { detail?: unknown };
  expect(typeof body.detail, label).toBe('string');
  if (typeof detail === 'string') expect(body.detail, label).toBe(detail);
  else if (detail) expect(body.detail, label).toMatch(detail);
}

describeEachDatabase('malformed Authorization headers', (kind) => {
  let server: TestServer;
  beforeEach(async () => {
    server = await startServer(kind);
    await server.createUser('alice', PASSWORD);
  });
  afterEach(() => server.close());

  /** A DRF token and a personal token of alice's, for cases that wrap a valid credential. */
  const validCredentials = async () => {
    const drf = await api(server, 'POST', '/api-token-auth/', { body: { username: 'alice', password: PASSWORD } });
    const { token: drfKey } = (await drf.json()) as { token: string };
    const { token: personal } = await server.tessera.issuer.personalToken(
      { userId: 1, name: 'test', expiresAt: null, scopes: null },
      { actorId: null },
    );
    return { drfKey, personal, basic: b64(`alice:${PASSWORD}`) };
  };

  it('refuses every malformed Authorization header with 401, a JSON detail and a challenge', async () => {
    for (const [label, value, detail] of CASES) {
      for (const path of ['/v1/me', '/api/whoami/']) {
        const response = await fetch(`${server.url}${path}`, { headers: { authorization: value } });
        await expectRefused(response, `${label} on ${path}`, detail);
      }
    }
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it('names the scheme it expected in the challenge of a malformed header', async () => {
    const challenges: Array<[string, RegExp]> = [
      ['Token a b', /^Token\b/],
      ['token key:', /^Token\b/],
      ['Basic !!!', /^Basic realm="tessera"/],
      ['Bearer tsr_short', /^Bearer realm="tessera"/],
      // No scheme of that name: every challenge, so the client learns what would do.
      ['Digest x', /Token.*Basic realm.*Bearer realm/],
    ];
    for (const [value, challenge] of challenges) {
      const response = await fetch(`${server.url}/v1/me`, { headers: { authorization: value } });
      await response.arrayBuffer();
      expect(response.headers.get('www-authenticate'), value).toMatch(challenge);
    }
  });

  it('refuses credentials sent as raw UTF-8 bytes with 401, never 500', async () => {
    const lines = [
      Buffer.concat([Buffer.from('Authorization: Token '), Buffer.from('ключ', 'utf8')]),
      Buffer.concat([Buffer.from('Authorization: token '), Buffer.from('ключ:секрет', 'utf8')]),
      Buffer.concat([Buffer.from('Authorization: Bearer tsr_'), Buffer.from('é'.repeat(20), 'utf8')]),
      Buffer.concat([Buffer.from('Authorization: '), Buffer.from('Jeton 🎟️', 'utf8')]),
    ];
    for (const line of lines) {
      const response = await sendRawRequest(server.url, [line], { path: '/v1/me' });
      const label = line.toString('utf8');
      expect(response.status, label).toBe(401);
      expect(response.header('www-authenticate'), label).toMatch(/\S/);
      expect(typeof (JSON.parse(response.body) as { detail?: unknown }).detail, label).toBe('string');
    }
  });

  it('parses the scheme name without regard to case and allows several spaces before the credentials', async () => {
    const { drfKey, personal, basic } = await validCredentials();
    const accepted = [
      `Token ${drfKey}`,
      `tOkEn ${drfKey}`,
      `TOKEN ${drfKey}`,
      `Token  ${drfKey}`,
      `Basic ${basic}`,
      `BASIC ${basic}`,
      `basic ${basic}`,
      `Bearer ${personal}`,
      `BEARER ${personal}`,
      `bearer   ${personal}`,
    ];
    for (const value of accepted) {
      const response = await fetch(`${server.url}/v1/me`, { headers: { authorization: value } });
      expect(response.status, value).toBe(200);
      expect(((await response.json()) as { user: { username: string } }).user.username).toBe('alice');
    }
    // A tab is not in RFC 9110's grammar; it may be taken or refused, but never a 500.
    for (const value of [`Token\t${drfKey}`, `Basic\t${basic}`, `Bearer \t${personal}`]) {
      const response = await fetch(`${server.url}/v1/me`, { headers: { authorization: value } });
      expect([200, 401], value).toContain(response.status);
      expect(await response.json()).toBeTypeOf('object');
    }
  });

  it('refuses an invalid Authorization header beside a valid session cookie, never falling back (SECURITY D6)', async () => {
    const session = await login(server, 'alice', PASSWORD);
    expect((await fetch(`${server.url}/v1/me`, { headers: { cookie: session.cookie } })).status).toBe(200);
    const invalid = [
      'Weird abc',
      '',
      'Token',
      `Token ${'0'.repeat(40)}`,
      'token key:',
      'Basic !!!',
      `Basic ${b64(`alice:${PASSWORD}x`)}`,
      'Bearer tsr_short',
      `Bearer tsr_${'A'.repeat(40)}`,
    ];
    for (const value of invalid) {
      for (const path of ['/v1/me', '/authentication/whoami/', '/api/whoami/']) {
        const response = await fetch(`${server.url}${path}`, {
          headers: { cookie: session.cookie, authorization: value },
        });
        await expectRefused(response, `${value} on ${path}`);
      }
    }
  });

  it('answers ~2000 seeded random Authorization headers each with 401 and a JSON detail', async () => {
    await server.close();
    // Random Basic headers go through the password check; the throttle must not turn them into 429s.
    const lenient = { max: 1_000_000, windowMs: 60_000 };
    server = await startServer(kind, { throttle: { account: lenient, address: lenient } });
    await server.createUser('alice', PASSWORD);

    const seed = 0x7e55e7a;
    const random = new SeededRandom(seed);
    const headers = Array.from({ length: 2000 }, () => randomAuthorization(random));
    const failures: string[] = [];
    let next = 0;
    const worker = async () => {
      while (next < headers.length) {
        const index = next++;
        const value = headers[index] ?? '';
        const response = await fetch(`${server.url}/v1/me`, { headers: { authorization: value } });
        const text = await response.text();
        let detail: unknown;
        try {
          detail = (JSON.parse(text) as { detail?: unknown }).detail;
        } catch {
          detail = undefined;
        }
        if (response.status !== 401 || typeof detail !== 'string' || !response.headers.get('www-authenticate')) {
          failures.push(`#${index} ${JSON.stringify(value.slice(0, 120))} -> ${response.status} ${text.slice(0, 200)}`);
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    expect(failures, `seed ${seed}`).toEqual([]);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  }, 60_000);
});

const FAMILIES = ['token', 'basic', 'bearer', 'other'] as const;
type Family = (typeof FAMILIES)[number];
const OTHER_SCHEMES = ['Digest', 'Negotiate', 'OAuth', 'Token token=', 'tsr_', '', ':', 'Token:', 'Basic='];
const SEPARATORS = [' ', ' ', ' ', ' ', ' ', ' ', '  ', '\t', ' \t ', '', ','];

/**
 * One random Authorization value that fetch can send (no CR, LF, NUL; bytes ≤ 0xff): a scheme
 * name in random case, a separator, and — mostly — a payload shaped for that scheme, so that
 * most headers get past the scheme name into the scheme's own parser.
 */
function randomAuthorization(random: SeededRandom): string {
  const family = random.pick(FAMILIES);
  const scheme =
    family === 'other'
      ? random.chance(0.3)
        ? random.string(PRINTABLE, random.int(1, 12))
        : random.pick(OTHER_SCHEMES)
      : randomCase(random, family);
  const payload = randomPayload(random, random.chance(0.7) ? family : random.pick(FAMILIES));
  return `${scheme}${random.pick(SEPARATORS)}${payload}`;
}

function randomCase(random: SeededRandom, word: string): string {
  if (random.chance(0.5)) return `${word[0]?.toUpperCase()}${word.slice(1)}`;
  return [...word].map((c) => (random.chance(0.3) ? c.toUpperCase() : c)).join('');
}

function randomPayload(random: SeededRandom, family: Family): string {
  if (random.chance(0.01)) return random.string(PRINTABLE, random.int(8200, 9000));
  switch (family) {
    case 'token':
      return random.pick([
        () => random.string(HEX, random.pick([0, 15, 16, 17, 39, 40, 41, random.int(0, 60)])),
        // key:secret shapes, the colon anywhere, or several of them.
        () => Array.from({ length: random.int(1, 4) }, () => random.string(HEX, random.pick([0, 7, 16, 40]))).join(':'),
        () => random.string(PRINTABLE, random.int(0, 80)),
        () => Array.from({ length: random.int(2, 4) }, () => random.string(PRINTABLE, random.int(1, 12))).join(' '),
        // Latin-1 bytes, which HTTP allows as obs-text.
        () => Array.from({ length: random.int(1, 30) }, () => String.fromCharCode(random.int(0xa0, 0xff))).join(''),
        () => `token="${Buffer.from(random.string(PRINTABLE, random.int(0, 40))).toString('base64')}"`,
      ])();
    case 'basic':
      return random.pick([
        // Random bytes: mostly invalid UTF-8.
        () => mangle(random, random.bytes(random.int(0, 48)).toString('base64')),
        // Printable text with a colon: reaches the password check.
        () =>
          mangle(
            random,
            b64(`${random.string(PRINTABLE, random.int(0, 20))}:${random.string(PRINTABLE, random.int(0, 30))}`),
          ),
        // Text with control characters or no colon.
        () =>
          mangle(
            random,
            b64(
              `${random.string(PRINTABLE, random.int(1, 10))}${String.fromCharCode(random.int(0, 31))}:${random.string(PRINTABLE, 8)}`,
            ),
          ),
        () => b64(random.string(PRINTABLE.replace(':', ''), random.int(0, 30))),
        () => random.string(PRINTABLE, random.int(0, 40)),
      ])();
    case 'bearer':
      return random.pick([
        () => `tsr_${random.string(BASE64URL, random.pick([39, 40, 41, random.int(0, 60)]))}`,
        () => `tsr_${random.string(PRINTABLE, 40)}`,
        () => Array.from({ length: random.int(1, 4) }, () => random.string(BASE64URL, random.int(0, 40))).join('.'),
        () => random.string(PRINTABLE, random.int(0, 60)),
      ])();
    default:
      return random.string(PRINTABLE, random.int(0, 60));
  }
}

/** Leaves base64 alone, or breaks it: a stray `=`, lost padding, a junk character, a space. */
function mangle(random: SeededRandom, text: string): string {
  switch (random.int(0, 7)) {
    case 0:
      return `${text}=`;
    case 1:
      return text.replace(/=+$/, '');
    case 2:
      return `${text}${random.pick(['!', '*', '-', '_', '.'])}`;
    case 3:
      return text.length > 2 ? `${text.slice(0, 2)} ${text.slice(2)}` : text;
    default:
      return text;
  }
}
