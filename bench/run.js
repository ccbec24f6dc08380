// Tessera's benchmark (issue 7): `npm run bench` (about 10 minutes) or `npm run bench -- --quick`
// (under one). Flags: --no-peers (skip Better Auth), --generator wrk|autocannon, --only a,b (run
// only these scenario groups: whoami, storm, scale, startup, memory, peers).
// Servers under test and load generators run as separate processes, pinned to separate cores;
// every scenario is read against a bare node:http server measured in the same run.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { drawChart } from './chart.js';
import { chooseGenerator, loader } from './lib/load.js';
import { benchDir, cli, log, pinning, startServer } from './lib/processes.js';
import { evaluate, machine, write } from './lib/report.js';
import { loginStorm } from './scenarios/login-storm.js';
import { memory } from './scenarios/memory.js';
import { peers } from './scenarios/peers.js';
import { scale } from './scenarios/scale.js';
import { startup } from './scenarios/startup.js';
import { startMain, whoami } from './scenarios/whoami.js';

const GROUPS = ['whoami', 'storm', 'scale', 'startup', 'memory', 'peers'];

function options(argv) {
  const value = (flag) => {
    const i = argv.indexOf(flag);
    return i === -1 ? undefined : argv[i + 1];
  };
  const only = value('--only')?.split(',') ?? GROUPS;
  const unknown = only.filter((g) => !GROUPS.includes(g));
  if (unknown.length > 0) throw new Error(`--only: no scenario group ${unknown.join(', ')} (${GROUPS.join(', ')})`);
  const quick = argv.includes('--quick');
  return {
    quick,
    groups: new Set(only.filter((g) => g !== 'peers' || !argv.includes('--no-peers'))),
    generator: chooseGenerator(value('--generator')),
    connections: 32,
    duration: quick ? 1 : 10,
    warmup: quick ? 0 : 2,
  };
}

async function main() {
  const settings = options(process.argv.slice(2));
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run build\` first`);
  const started = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-'));
  const ctx = { dir, quick: settings.quick, settings, rows: [], figures: [], notes: [], load: loader(settings) };
  const has = (group) => settings.groups.has(group);
  if (settings.quick) ctx.notes.push('--quick: 1 s per scenario and no warm-up — a smoke test, not a measurement');
  log(
    `bench: ${settings.generator}, ${settings.connections} connections, ${settings.duration} s each; ${pinning.note}`,
  );
  const stops = [];
  try {
    const baseline = await startServer([join(benchDir, 'baseline-server.js')]);
    stops.push(baseline.stop);
    const bare = async (name) => {
      const row = await ctx.load(name, { url: `${baseline.url}/` });
      ctx.rows.push({ ...row, baseline: true, target: null });
    };
    await bare('bare node:http (baseline)');

    let tessera = {};
    if (has('whoami') || has('storm') || has('peers')) {
      const main = await startMain(ctx);
      stops.push(main.stop);
      if (has('whoami') || has('peers')) {
        log('whoami per credential kind, warm and cold:');
        tessera = await whoami(ctx, main);
      }
      if (has('storm')) {
        log('login storm:');
        await loginStorm(ctx, main);
      }
      await main.stop();
    }
    if (has('scale') || has('startup') || has('memory')) {
      log('stored credentials, 1k against many:');
      const big = await scale(ctx);
      if (has('startup')) await startup(ctx, big);
      if (has('memory')) await memory(ctx, big);
    }
    if (has('peers')) {
      log('peer comparison:');
      await peers(ctx, tessera);
    } else {
      ctx.notes.push('Better Auth comparison not run (--no-peers or --only)');
    }
    await bare('bare node:http again (drift check)');

    evaluate(ctx.rows);
    const run = {
      date: new Date().toISOString(),
      machine: machine(),
      node: process.version,
      generator: settings.generator,
      connections: settings.connections,
      durationSeconds: settings.duration,
      warmupSeconds: settings.warmup,
      quick: settings.quick,
      pinning: pinning.note,
      seconds: Math.round((performance.now() - started) / 1000),
      scenarios: ctx.rows,
      figures: ctx.figures,
      notes: ctx.notes,
    };
    process.stdout.write(`\n${write(run)}`);
    // The committed chart is the full run's: a quick or partial run leaves it alone.
    if (!settings.quick && settings.groups.size === GROUPS.length) {
      writeFileSync(join(benchDir, 'chart.svg'), drawChart(run));
      log('wrote bench/results.json, bench/results.md and bench/chart.svg');
    } else {
      log('wrote bench/results.json and bench/results.md (chart.svg only from a full run)');
    }
    log(`done in ${run.seconds} s`);
  } finally {
    for (const stop of stops.reverse()) await stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(`bench: ${error.stack ?? error.message}`);
  process.exit(1);
});
