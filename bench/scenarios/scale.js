// Cost per request from 1 thousand to 1 million stored credentials (DESIGN: flat, within 10%).
// Four servers run at once (each size warm and cold); only the one under load does any work.
// Warm: one personal token repeated, answered from memory. Cold: the cache off and a rotating
// set of tokens spread over the whole table, so each request walks the index to a different leaf.
import { probe } from '../lib/credentials.js';
import { cli, log, startServer } from '../lib/processes.js';
import { addPersonalTokens, createDatabase, seededToken } from '../lib/seed.js';

const ROTATING = 1000;

/**
 * The two sizes are measured in turns (1k, 1M, 1k, 1M, …) and each row is its median round:
 * the machine's speed drifts over a run by more than the 10% this scenario looks for, and
 * measuring one size after the other would read that drift as a difference.
 */
const ROUNDS = 3;

/** A warm and a cold server on one database, and the requests to send them. */
async function serversFor(label, db, count) {
  const serve = [cli, 'serve', '--port', '0'];
  const env = { ...db.env, TESSERA_LOG_LEVEL: 'info' };
  const warm = await startServer(serve, env);
  const cold = await startServer(serve, { ...env, TESSERA_TOKEN_CACHE: '0' });
  const one = { authorization: `Bearer ${seededToken(db.seed, Math.floor(count / 2))}` };
  await probe(`${warm.url}/api/whoami/`, one);
  const variants = Array.from({ length: ROTATING }, (_, k) => ({
    headers: { authorization: `Bearer ${seededToken(db.seed, Math.floor(((k + 0.5) * count) / ROTATING))}` },
  }));
  return {
    warm: { name: `whoami, personal token among ${label} (warm)`, url: `${warm.url}/api/whoami/`, headers: one },
    cold: {
      name: `whoami, personal token among ${label} (cold, ${ROTATING} rotating)`,
      url: `${cold.url}/api/whoami/`,
      variants,
    },
    stop: () => Promise.all([warm.stop(), cold.stop()]),
  };
}

function median(rows) {
  const sorted = [...rows].sort((a, b) => a.rps - b.rps);
  return { ...sorted[Math.floor(sorted.length / 2)], rounds: rows.map((r) => r.rps) };
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

  const sizes = [await serversFor('1k', small, 1000), await serversFor(bigLabel, large, big)];
  const runs = sizes.map(() => ({ warm: [], cold: [] }));
  try {
    const rounds = ctx.quick ? 1 : ROUNDS;
    for (let round = 1; round <= rounds; round++) {
      // Turns swap each round, so neither size always follows the other's cold run.
      const order = round % 2 === 1 ? [0, 1] : [1, 0];
      for (const i of order) {
        const size = sizes[i];
        for (const temp of ['warm', 'cold']) {
          const { name, ...spec } = size[temp];
          runs[i][temp].push(await ctx.load(`${name}${rounds > 1 ? `, round ${round} of ${rounds}` : ''}`, spec));
        }
      }
    }
  } finally {
    await Promise.all(sizes.map((size) => size.stop()));
  }
  const [smallWarm, smallCold, bigWarm, bigCold] = runs.flatMap((run, i) =>
    ['warm', 'cold'].map((temp) => ({ ...median(run[temp]), name: sizes[i][temp].name })),
  );
  ctx.rows.push({ ...smallWarm, target: null }, { ...smallCold, target: null });
  ctx.rows.push({ ...bigWarm, target: { withinPercentOf: smallWarm.name, pct: 10 } });
  ctx.rows.push({ ...bigCold, target: { withinPercentOf: smallCold.name, pct: 10 } });
  return { ...large, count: big };
}
