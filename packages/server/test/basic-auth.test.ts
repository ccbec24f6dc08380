import { afterEach, beforeEach, expect, it } from 'vitest';
import { isTesseraError } from '../src/errors.js';
import { auditRows, basicHeader } from './helpers/credentials.js';
import { describeEachDatabase, PASSWORD, startServer, type TestServer } from './helpers/harness.js';

const WINDOW_MS = 60_000;

describeEachDatabase('HTTP Basic (RFC 7617)', (kind) => {
  let server: TestServer;
  beforeEach(async () => {
    server = await startServer(kind);
    await server.createUser('user', PASSWORD);
  });
  afterEach(() => server.close());

  const whoami = (authorization: string, path = '/authentication/whoami/') =>
    fetch(`${server.url}${path}`, { headers: { Authorization: authorization } });

  const whoamiStatus = async (authorization: string, path?: string) => {
    const response = await whoami(authorization, path);
    await response.arrayBuffer();
    return response.status;
  };

  const expectRefused = async (response: Response) => {
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Basic realm="tessera", charset="UTF-8"');
    expect(await response.json()).toEqual({ detail: 'Invalid username/password.' });
  };

  it('authenticates username:password on the session and DRF whoami endpoints', async () => {
    for (const path of ['/authentication/whoami/', '/api/whoami/']) {
      const response = await whoami(basicHeader('user', PASSWORD), path);
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ id: 1, username: 'user', is_active: true });
    }
  });

  it("accepts RFC 7617's known answer: Aladdin:open sesame is QWxhZGRpbjpvcGVuIHNlc2FtZQ==", async () => {
    // 'open sesame' is 11 characters and not a common password: the policy takes it unchanged.
    await server.createUser('Aladdin', 'open sesame');
    expect(basicHeader('Aladdin', 'open sesame')).toBe('Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==');
    const response = await whoami('Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==');
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ username: 'Aladdin' });
    // A username is one identity in any case (issue 13 item 9): `aladdin` is Aladdin's account.
    expect(await whoamiStatus(basicHeader('aladdin', 'open sesame'))).toBe(200);
    expect(await whoamiStatus(basicHeader('aladdin', 'open sesamE'))).toBe(401);
  });

  it("decodes credentials as UTF-8 (RFC 7617 charset), per test:123£'s known answer dGVzdDoxMjPCow==", async () => {
    expect(basicHeader('test', '123£')).toBe('Basic dGVzdDoxMjPCow==');
    // '123£' is 4 characters; the policy wants at least 8 (SECURITY A4), so the RFC's own
    // password cannot be set. The same bytes lead a longer one instead.
    const refused = await server.tessera.users.create({ username: 'test', password: '123£' }, { actorId: null }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(isTesseraError(refused, 'PASSWORD_TOO_SHORT')).toBe(true);
    const password = '123£ and some more';
    await server.createUser('test', password);

    expect(await whoamiStatus('Basic dGVzdDoxMjPCow==')).toBe(401);
    const utf8 = await whoami(basicHeader('test', password));
    expect(utf8.status).toBe(200);
    expect(await utf8.json()).toMatchObject({ username: 'test' });
    // The same text in Latin-1 (£ as the lone byte A3) is not UTF-8: refused, never a 500.
    const latin1 = await whoami(`Basic ${Buffer.from(`test:${password}`, 'latin1').toString('base64')}`);
    expect(latin1.status).toBe(401);
    expect(await latin1.json()).toEqual({ detail: 'Invalid basic header. Credentials are not valid UTF-8.' });
  });

  it('splits on the first colon, so a password containing colons works', async () => {
    const password = 'pass:word::with colons:';
    await server.createUser('colon', password);
    const response = await whoami(basicHeader('colon', password));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ username: 'colon' });
    expect(await whoamiStatus(basicHeader('colon', 'pass'))).toBe(401);
  });

  it('refuses a wrong password and an unknown user with the same 401 and a Basic challenge', async () => {
    await expectRefused(await whoami(basicHeader('user', 'not the password')));
    await expectRefused(await whoami(basicHeader('nobody-here', PASSWORD)));
    await expectRefused(await whoami(basicHeader('user', ''), '/api/whoami/'));
  });

  it('refuses the same header at once after the password changes', async () => {
    const header = basicHeader('user', PASSWORD);
    expect(await whoamiStatus(header)).toBe(200);
    expect(await whoamiStatus(header)).toBe(200);
    const changed = 'a different long passphrase';
    await server.tessera.users.update(1, { password: changed }, { actorId: null });
    await expectRefused(await whoami(header));
    expect(await whoamiStatus(basicHeader('user', changed))).toBe(200);
  });

  it('refuses the same header at once after the user is deactivated, and after deletion', async () => {
    const header = basicHeader('user', PASSWORD);
    expect(await whoamiStatus(header)).toBe(200);
    await server.tessera.users.update(1, { isActive: false }, { actorId: null });
    await expectRefused(await whoami(header));

    const other = await server.createUser('other', PASSWORD);
    const otherHeader = basicHeader('other', PASSWORD);
    expect(await whoamiStatus(otherHeader)).toBe(200);
    await server.tessera.users.delete(other.id, { actorId: null });
    await expectRefused(await whoami(otherHeader));
  });

  it('counts Basic failures toward login throttling: 429 with Retry-After past the limit, even with the right password', async () => {
    await server.close();
    server = await startServer(kind, {
      throttle: { account: { max: 3, windowMs: WINDOW_MS }, address: { max: 100, windowMs: WINDOW_MS } },
    });
    await server.createUser('user', PASSWORD);
    for (let i = 0; i < 3; i++) await expectRefused(await whoami(basicHeader('user', `wrong password ${i}`)));

    const throttled = await whoami(basicHeader('user', PASSWORD));
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get('retry-after')).toBe('60');
    expect(await throttled.json()).toEqual({ detail: 'Request was throttled. Expected available in 60 seconds.' });

    // One counter per account, whichever door: the DRF login is throttled too.
    const drf = await fetch(`${server.url}/api-token-auth/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'user', password: PASSWORD }),
    });
    expect(drf.status).toBe(429);
    await drf.arrayBuffer();
    // Both refusals are audited, in one row with a count (issue 13: no unbounded audit growth).
    const throttledRows = (await auditRows(server)).filter((r) => r.event === 'login.throttled');
    expect(throttledRows.map((r) => Number(r.count))).toEqual([2]);

    server.clock.advance(WINDOW_MS);
    expect(await whoamiStatus(basicHeader('user', PASSWORD))).toBe(200);
  });

  it('keeps answering 429 while throttled even for a header verified moments before (no cached way round B3)', async () => {
    await server.close();
    server = await startServer(kind, {
      throttle: { account: { max: 3, windowMs: WINDOW_MS }, address: { max: 100, windowMs: WINDOW_MS } },
    });
    await server.createUser('user', PASSWORD);
    const header = basicHeader('user', PASSWORD);
    // The owner's client has just been let in, so its header is remembered (no argon2 next time).
    expect(await whoamiStatus(header)).toBe(200);

    // Someone else guesses: three failures, then the account is throttled.
    for (let i = 0; i < 3; i++) await expectRefused(await whoami(basicHeader('user', `guess ${i}`)));
    expect(await whoamiStatus(basicHeader('user', 'guess 3'))).toBe(429);

    // A right guess must look like every other guess now, or the limit is an oracle.
    const right = await whoami(header);
    expect(right.status).toBe(429);
    expect(right.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
    await right.arrayBuffer();

    server.clock.advance(WINDOW_MS);
    expect(await whoamiStatus(header)).toBe(200);
  });

  it('refuses the old username at once after a rename', async () => {
    const header = basicHeader('user', PASSWORD);
    expect(await whoamiStatus(header)).toBe(200);
    await server.tessera.users.update(1, { username: 'renamed' }, { actorId: null });
    await expectRefused(await whoami(header));
    const renamed = await whoami(basicHeader('renamed', PASSWORD));
    expect(renamed.status).toBe(200);
    expect(await renamed.json()).toMatchObject({ id: 1, username: 'renamed' });
  });

  it('checks a Basic header whose left side is an api key as a key pair, never as a password', async () => {
    const alice = await server.createUser('alice', PASSWORD);
    const { apiKey, apiSecret } = await server.tessera.issuer.generateApiKeys(alice.id, { actorId: null });
    // A user whose username is that api key, with a password of their own.
    await server.createUser(apiKey, PASSWORD);

    const asPair = await whoami(basicHeader(apiKey, apiSecret));
    expect(asPair.status).toBe(200);
    expect(await asPair.json()).toMatchObject({ username: 'alice' });

    // The password of the user named like the key is not even tried: the pair decides.
    const asPassword = await whoami(basicHeader(apiKey, PASSWORD));
    expect(asPassword.status).toBe(401);
    await asPassword.arrayBuffer();
    const audit = await auditRows(server);
    expect(audit.filter((r) => r.event.startsWith('login.'))).toEqual([]);
    const throttle = await server.tessera.database.db.selectFrom('throttle').selectAll().execute();
    expect(throttle).toEqual([]);
  });
});
