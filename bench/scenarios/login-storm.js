// A login storm: 32 clients logging in back to back (argon2id each) while a second generator
// measures DRF-token whoami on the same server — DESIGN's p99 ≤ 10 ms with hashing off the loop.
import { drfToken, loginBody, probe } from '../lib/credentials.js';

export async function loginStorm(ctx, main) {
  const { warm, users } = main;
  const drf = await drfToken(warm.url);
  const whoami = { url: `${warm.url}/api/whoami/`, headers: { authorization: `Token ${drf}` } };
  await probe(whoami.url, whoami.headers);
  const storm = ctx.load('login storm: 32 concurrent session logins', {
    url: `${warm.url}/authentication/login/`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    // One account per connection: the per-account login limit counts attempts in flight.
    variants: users.map((u) => ({ body: loginBody(u) })),
    warmup: 0,
    duration: ctx.settings.duration + 1,
  });
  // Started a moment later and finished earlier, so every measured request meets the storm.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const measured = ctx.load('whoami, DRF token, during the login storm', {
    ...whoami,
    warmup: 0,
  });
  const [logins, during] = await Promise.all([storm, measured]);
  ctx.rows.push({ ...logins, target: null });
  ctx.rows.push({ ...during, target: { p99AtMost: 10 } });
}
