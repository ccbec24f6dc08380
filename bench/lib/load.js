// One interface over the two load generators: wrk when installed, autocannon otherwise.
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { benchDir, log, pinned, pinning } from './processes.js';
import { PACE_MS, runWrk } from './wrk.js';

/** `--generator autocannon` forces the fallback, to check it still works where wrk is installed. */
export function chooseGenerator(forced) {
  if (forced === 'autocannon') return 'autocannon';
  const found = spawnSync('wrk', ['--version']).error === undefined;
  if (forced === 'wrk' && !found) throw new Error('--generator wrk: wrk is not installed (apt install wrk)');
  return found ? 'wrk' : 'autocannon';
}

function runAutocannon(spec) {
  const argv = pinned(pinning.generator, [
    process.execPath,
    join(benchDir, 'lib', 'autocannon-runner.js'),
    JSON.stringify(spec),
  ]);
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.once('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`autocannon exited with ${code}`)),
    );
  });
}

/**
 * Connections for a paced run (a spec with `rate`, requests per second): each one sends,
 * reads the answer, waits {@link PACE_MS} and sends again, so the rate stays near `rate`
 * however the server fares, where a full-throttle generator would measure its own queue.
 */
function pacedConnections(rate) {
  return Math.max(1, Math.round((rate * PACE_MS) / 1000));
}

/**
 * Makes a `load(spec)` for the settings of this run. A spec: `url`, optional `method`,
 * `headers`, `body`, `variants` (a rotating list of `{headers, body}`), `rate` (paced, see
 * {@link pacedConnections}), `expect` (the one status
 * every answer must have, 200 unless told), `duration` and `warmup` in seconds. Throws when any
 * answer has another status, or the connection failed: a figure made of errors is no figure.
 */
export function loader({ generator, connections, duration, warmup }) {
  const run = generator === 'wrk' ? runWrk : runAutocannon;
  return async function load(name, spec) {
    const full = {
      method: 'GET',
      headers: {},
      connections,
      duration,
      ...spec,
      ...(spec.rate !== undefined && { connections: pacedConnections(spec.rate) }),
    };
    const warm = spec.warmup ?? warmup;
    const shape = full.rate === undefined ? `${full.connections} connections` : `${full.rate} req/s paced`;
    log(`  ${name}: ${warm > 0 ? `${warm}s warm-up, ` : ''}${full.duration}s × ${shape}`);
    if (warm > 0) await run({ ...full, duration: warm });
    const figures = await run(full);
    const expect = spec.expect ?? 200;
    // wrk counts non-2xx answers; for an expected 401 every answer must be one of them.
    const unexpected = (expect < 300 ? figures.non2xx : figures.requests - figures.non2xx) + figures.errors;
    if (unexpected > 0 || figures.timeouts > 0) {
      throw new Error(
        `${name}: ${unexpected} of ${figures.requests} answers were not ${expect}` +
          ` (socket errors ${figures.errors}, timeouts ${figures.timeouts})`,
      );
    }
    return { name, ...figures };
  };
}
