// A login storm: 32 clients logging in back to back (argon2id each) while DRF-token whoami
// arrives at a steady rate — DESIGN's p99 ≤ 10 ms with hashing off the loop. The token traffic
// is paced (load.js) at a quarter of the server's warm throughput from this run: latency under
// load, which the target is about. A generator at full throttle would measure its own queue
// instead — at saturation p99 is connections ÷ throughput, storm or no storm — and a stall
// would also hold back the requests behind it, so each stalled request still shows its wait.
import { drfToken, loginBody, probe } from '../lib/credentials.js';

/** Paced rate when the warm whoami row of this run is missing (`--only storm`). */
const FALLBACK_RATE = 2000;

export async function loginStorm(ctx, main) {
  const { warm, users } = main;
  const drf = await drfToken(warm.url);
  const whoami = { url: `${warm.url}/api/whoami/`, headers: { authorization: `Token ${drf}` } };
  await probe(whoami.url, whoami.headers);
  const warmRow = ctx.rows.find((r) => r.name === 'whoami, DRF token (warm)');
  const rate = warmRow ? Math.max(100, Math.round(warmRow.rps / 4 / 100) * 100) : FALLBACK_RATE;
  const paced = { ...whoami, rate, warmup: 1 };

  const quiet = await ctx.load(`whoami, DRF token, ${rate} req/s paced, no logins`, paced);
  ctx.rows.push({ ...quiet, paced: true, target: null });

  const storm = ctx.load('login storm: 32 concurrent session logins', {
    url: `${warm.url}/authentication/login/`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    // One account per connection: the per-account login limit counts attempts in flight.
    variants: users.map((u) => ({ body: loginBody(u) })),
    warmup: 0,
    // Covers the paced run's 1 s warm-up and its measured seconds, with time to spare.
    duration: ctx.settings.duration + 2,
  });
  // Started a moment later and finished earlier, so every measured request meets the storm.
  await new Promise((resolve) => setTimeout(resolve, 500));
  const [logins, during] = await Promise.all([
    storm,
    ctx.load(`whoami, DRF token, ${rate} req/s paced, during the login storm`, paced),
  ]);
  ctx.rows.push({ ...logins, target: null });
  ctx.rows.push({ ...during, paced: true, target: { p99AtMost: 10 } });
}
