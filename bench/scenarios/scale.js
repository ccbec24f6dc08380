// Cost per request from 1 thousand to 1 million stored credentials (DESIGN: flat, within 10%).
// Warm: one personal token repeated, answered from memory. Cold: the cache off and a rotating
// set of tokens spread over the whole table, so each request walks the index to a different leaf.
import { probe } from '../lib/credentials.js';
import { cli, log, startServer } from '../lib/processes.js';
import { addPersonalTokens, createDatabase, seededToken } from '../lib/seed.js';

const ROTATING = 1000;

async function measure(ctx, label, db, count) {
  const serve = [cli, 'serve', '--port', '0'];
  const env = { ...db.env, TESSERA_LOG_LEVEL: 'info' };
  const warm = await startServer(serve, env);
  const cold = await startServer(serve, { ...env, TESSERA_TOKEN_CACHE: '0' });
  try {
    const one = { authorization: `Bearer ${seededToken(db.seed, Math.floor(count / 2))}` };
    await probe(`${warm.url}/api/whoami/`, one);
    const variants = Array.from({ length: ROTATING }, (_, k) => ({
      headers: { authorization: `Bearer ${seededToken(db.seed, Math.floor(((k + 0.5) * count) / ROTATING))}` },
    }));
    const warmRow = await ctx.load(`whoami, personal token among ${label} (warm)`, {
      url: `${warm.url}/api/whoami/`,
      headers: one,
    });
    const coldRow = await ctx.load(`whoami, personal token among ${label} (cold, ${ROTATING} rotating)`, {
      url: `${cold.url}/api/whoami/`,
      variants,
    });
    return [warmRow, coldRow];
  } finally {
    await Promise.all([warm.stop(), cold.stop()]);
  }
}

/** Runs the scenario; returns the big database, for the start-up and memory scenarios. */
export async function scale(ctx) {
  const big = ctx.quick ? 100_000 : 1_000_000;
  const bigLabel = ctx.quick ? '100k' : '1M';
  if (ctx.quick) ctx.notes.push('--quick: 100 000 stored credentials stand in for 1 million');
  const small = { ...(await createDatabase(ctx.dir, 'small')), seed: 'small' };
  addPersonalTokens(small.path, small.seed, 1000);
  const large = { ...(await createDatabase(ctx.dir, 'large')), seed: 'large' };
  log(`seeding ${big.toLocaleString('en')} personal tokens…`);
  const seconds = addPersonalTokens(large.path, large.seed, big);
  ctx.notes.push(`seeded ${big.toLocaleString('en')} personal tokens in ${seconds} s (one transaction)`);

  const [smallWarm, smallCold] = await measure(ctx, '1k', small, 1000);
  const [bigWarm, bigCold] = await measure(ctx, bigLabel, large, big);
  ctx.rows.push({ ...smallWarm, target: null }, { ...smallCold, target: null });
  ctx.rows.push({ ...bigWarm, target: { withinPercentOf: smallWarm.name, pct: 10 } });
  ctx.rows.push({ ...bigCold, target: { withinPercentOf: smallCold.name, pct: 10 } });
  return { ...large, count: big };
}
