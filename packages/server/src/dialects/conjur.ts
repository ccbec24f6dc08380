import type { Principal } from '../auth/principal.js';
import { CONJUR_API_KEY } from '../credentials/formats.js';
import { digestSecret } from '../crypto/secrets.js';
import { readRaw } from '../http/body.js';
import type { RequestContext } from '../http/context.js';
import { HttpError, throttled } from '../http/http-error.js';
import { anyCredential, selfChecked } from '../http/route-policy.js';
import type { Reply, Route } from '../http/routes.js';
import { basicCredentialsOf, decodeBasic } from '../schemes/basic.js';
import { issueConjurToken } from '../signing/conjur-token.js';
import { findWithValidAfter } from '../users/credentials-valid-after.js';
import type { User } from '../users/user.js';
import { canonicalUsername } from '../users/username-identity.js';

/**
 * Conjur's authn API (DESIGN "conjur"; seed 004): Basic login → the API key (text); the API
 * key → a short-lived signed token; `Authorization: Token token="<base64>"` on later calls.
 * Both the seed's paths (`/api/authn/users/…`) and Conjur v5's (`/authn/{account}/…`, for
 * configured accounts). Bad credentials are a 401 with an empty body, as Conjur answers.
 */
export function conjurRoutes(): Route[] {
  // Login and rotation read only Basic with a password or the API key, never a token (SECURITY E7, E8).
  const login_ = selfChecked(['password', 'conjur-api-key'], 'mint-credential');
  const authenticate_ = selfChecked(['conjur-api-key'], 'mint-short-lived');
  return [
    { methods: ['GET'], path: '/api/authn/users/login', auth: 'none', policy: login_, handler: login },
    {
      methods: ['POST'],
      path: '/api/authn/users/:login/authenticate',
      auth: 'none',
      policy: authenticate_,
      handler: authenticate,
    },
    { methods: ['PUT'], path: '/api/authn/users/api_key', auth: 'none', policy: login_, handler: rotateApiKey },
    { methods: ['GET'], path: '/api/authn/whoami', auth: 'required', policy: anyCredential(), handler: whoami },
    { methods: ['GET'], path: '/whoami', auth: 'required', policy: anyCredential(), handler: whoami },
    { methods: ['GET'], path: '/authn/:account/login', auth: 'none', policy: login_, handler: login },
    {
      methods: ['POST'],
      path: '/authn/:account/:login/authenticate',
      auth: 'none',
      policy: authenticate_,
      handler: authenticate,
    },
    { methods: ['PUT'], path: '/authn/:account/api_key', auth: 'none', policy: login_, handler: rotateApiKey },
  ];
}

const BASIC_CHALLENGE = 'Basic realm="conjur"';

function unauthorized(challenge = BASIC_CHALLENGE): HttpError {
  return new HttpError(401, undefined, { 'WWW-Authenticate': challenge });
}

/** An unknown v5 account answers like bad credentials: nothing to learn from probing. */
function checkAccount(ctx: RequestContext): void {
  const { account } = ctx.params;
  if (account !== undefined && !ctx.tessera.config.conjur.accounts.includes(account)) throw unauthorized();
}

/**
 * The user behind `Authorization: Basic login:secret`, where the secret is the password or the
 * current API key. A token cannot log in (SECURITY E7, E8): only Basic is read here.
 */
async function basicUser(ctx: RequestContext): Promise<User> {
  const header = ctx.header('authorization') ?? '';
  const credentials = basicCredentialsOf(header);
  const pair = credentials === undefined ? undefined : decodeBasic(credentials);
  if (!Array.isArray(pair)) throw unauthorized();
  const [username, secret] = pair;
  const { tessera } = ctx;
  if (CONJUR_API_KEY.test(secret)) {
    const found = await tessera.credentials.find('conjur', digestSecret(secret));
    if (found && sameName(found.user.username, username) && found.user.isActive) return found.user;
  }
  const outcome = await tessera.passwordLogin.attempt({
    username,
    password: secret,
    clientAddress: ctx.clientAddress,
    via: 'conjur',
  });
  if (!outcome.ok) throw outcome.reason === 'throttled' ? throttled(outcome.retryAfterSeconds) : unauthorized();
  return outcome.user;
}

async function login(ctx: RequestContext): Promise<Reply> {
  checkAccount(ctx);
  const user = await basicUser(ctx);
  const apiKey = await ctx.tessera.issuer.conjurApiKey(user.id, { actorId: user.id, clientAddress: ctx.clientAddress });
  return { text: apiKey };
}

async function rotateApiKey(ctx: RequestContext): Promise<Reply> {
  checkAccount(ctx);
  const user = await basicUser(ctx);
  const apiKey = await ctx.tessera.issuer.rotateConjurApiKey(user.id, {
    actorId: user.id,
    clientAddress: ctx.clientAddress,
  });
  return { text: apiKey };
}

/** One username, however spelled: compared by canonical key (item 9). */
function sameName(stored: string, given: string): boolean {
  return canonicalUsername(stored) === canonicalUsername(given);
}

/**
 * The API key, raw, is the whole body — whatever the Content-Type, since the seed's
 * `curl --data` sends it form-encoded. Surrounding whitespace (a newline from a file) is dropped.
 *
 * An API key is a password in effect, so guesses are throttled like logins (SECURITY B3), by
 * the same counters: per login name and per address, counted before the key is looked up, a
 * success forgiving only its own account's failures, refusals audited once per window.
 */
async function authenticate(ctx: RequestContext): Promise<Reply> {
  checkAccount(ctx);
  const { tessera } = ctx;
  const login = (ctx.params.login ?? '').normalize('NFC');
  const apiKey = (await readRaw(ctx.req, tessera.config.bodyLimitBytes)).toString('utf8').trim();
  // A name over 150 characters is no one's: it counts for the address only (item 7).
  const name = login.length > 150 ? null : login;
  const verdict = await tessera.throttle.attempt(name, ctx.clientAddress);
  if (!verdict.ok) {
    await tessera.passwordLogin.recordThrottled(name, ctx.clientAddress, 'conjur-authenticate');
    throw throttled(verdict.retryAfterSeconds);
  }
  const found = CONJUR_API_KEY.test(apiKey)
    ? await tessera.credentials.find('conjur', digestSecret(apiKey))
    : undefined;
  if (!found || name === null || !sameName(found.user.username, name) || !found.user.isActive) {
    await tessera.audit.record('login.failed', {
      clientAddress: ctx.clientAddress,
      subjectId: found?.user.id ?? null,
      detail: {
        username: login.slice(0, 150),
        reason: found ? 'inactive_or_mismatch' : 'bad_api_key',
        via: 'conjur-authenticate',
      },
    });
    throw unauthorized('Token realm="conjur"');
  }
  await tessera.throttle.succeeded(found.user.username, ctx.clientAddress);
  await tessera.credentials.touch(found.info);
  const { config, keyring } = tessera;
  // Bound to the user's id and dated against their "credentials valid after" instant (issue 13 items 5, 6).
  const current = await findWithValidAfter(tessera.database, found.user.id);
  if (!current) throw unauthorized('Token realm="conjur"');
  const subject = { login: found.user.username, userId: found.user.id, validAfter: current.validAfter };
  const token = issueConjurToken(keyring, subject, tessera.clock(), config.conjur.ttlMs, config.conjur.format);
  const json = JSON.stringify(token);
  // Conjur's clients may ask for the token ready to put in a header.
  if (/(^|[\s,])base64($|[\s,;])/i.test(ctx.header('accept-encoding') ?? '')) {
    return { text: Buffer.from(json).toString('base64'), headers: { 'Content-Encoding': 'base64' } };
  }
  return { body: token };
}

async function whoami(ctx: RequestContext): Promise<Reply> {
  const principal: Principal = ctx.user;
  return {
    body: {
      client_ip: ctx.clientAddress,
      user_agent: ctx.header('user-agent') ?? null,
      account: ctx.tessera.config.conjur.accounts[0] ?? null,
      username: principal.user.username,
    },
  };
}
