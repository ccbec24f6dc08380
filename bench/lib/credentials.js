// Getting one credential of each kind from a running Tessera, over HTTP as a client would.
import { PASSWORD } from './seed.js';

async function expectOk(response, what) {
  if (!response.ok) throw new Error(`${what}: HTTP ${response.status} ${await response.text()}`);
  return response;
}

const json = (body) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

/** The body a login sends; also the body of the login storm's requests. */
export function loginBody(username) {
  return JSON.stringify({ username, password: PASSWORD });
}

/** Session login; returns the Cookie header (session + CSRF cookie) a browser would send back. */
export async function sessionCookie(base, username = 'bench') {
  const response = await expectOk(
    await fetch(`${base}/authentication/login/`, { ...json({ username, password: PASSWORD }) }),
    'session login',
  );
  return response.headers
    .getSetCookie()
    .map((c) => c.split(';')[0])
    .join('; ');
}

export async function drfToken(base) {
  const response = await expectOk(
    await fetch(`${base}/api-token-auth/`, json({ username: 'bench', password: PASSWORD })),
    'DRF login',
  );
  return (await response.json()).token;
}

export function basicHeader(username = 'bench') {
  return `Basic ${Buffer.from(`${username}:${PASSWORD}`).toString('base64')}`;
}

/** A fresh Conjur access token (they live minutes, longer than no full run's scenario). */
export async function conjurHeader(base) {
  const apiKey = await (
    await expectOk(
      await fetch(`${base}/api/authn/users/login`, { headers: { authorization: basicHeader() } }),
      'Conjur login',
    )
  ).text();
  const token = await (
    await expectOk(
      await fetch(`${base}/api/authn/users/bench/authenticate`, { method: 'POST', body: apiKey }),
      'Conjur authenticate',
    )
  ).text();
  return `Token token="${Buffer.from(token).toString('base64')}"`;
}

/** A fresh JWT access token, exchanged for the personal token. */
export async function jwtHeader(base, personal) {
  const response = await expectOk(
    await fetch(`${base}/v1/token`, { method: 'POST', headers: { authorization: `Bearer ${personal}` } }),
    'JWT exchange',
  );
  return `Bearer ${(await response.json()).access_token}`;
}

/** Checks one request answers `status` before a load run is spent on it. */
export async function probe(url, headers, status = 200) {
  const response = await fetch(url, { headers });
  await response.arrayBuffer();
  if (response.status !== status) throw new Error(`${url} answered ${response.status}, expected ${status}`);
}
