// Child processes of the benchmark: servers pinned to one core, the CLI, and reading their RSS.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const benchDir = join(here, '..');
export const cli = join(benchDir, '..', 'packages', 'server', 'dist', 'cli', 'main.js');

/**
 * Two cores: every server under test gets core 0 and every load generator core 1, so a server
 * never competes with the load it answers, and Tessera, the baseline and the peer are measured
 * on the same footing. Without taskset (or with fewer cores) nothing is pinned.
 */
const cores = spawnSync('nproc', { encoding: 'utf8' }).stdout?.trim();
const hasTaskset = spawnSync('taskset', ['--version']).status === 0;
export const pinning =
  hasTaskset && Number(cores) >= 2
    ? { server: '0', generator: '1', note: 'servers on core 0, load generators on core 1 (taskset)' }
    : { server: null, generator: null, note: 'not pinned (taskset or a second core missing)' };

/** The command line that runs `argv` on the given core, if pinning is on. */
export function pinned(core, argv) {
  return core === null ? argv : ['taskset', '-c', core, ...argv];
}

export function log(line) {
  process.stderr.write(`${line}\n`);
}

/** A port nobody listens on right now, for a server whose start is timed before it can say. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/**
 * Starts a node script on the server core; resolves once it prints a port (a JSON line with
 * `port`, or Tessera's "listening on" line), with `{ child, port, url, stop() }`.
 */
export function startServer(args, env = {}) {
  const [command, ...rest] = pinned(pinning.server, [process.execPath, ...args]);
  const child = spawn(command, rest, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let errors = '';
  child.stderr.on('data', (d) => {
    errors = (errors + d).slice(-4000);
  });
  return new Promise((resolve, reject) => {
    let buffer = '';
    const onData = (chunk) => {
      buffer += chunk;
      const port = /"port":\s*(\d+)/.exec(buffer)?.[1] ?? /listening on http:\/\/[^:]+:(\d+)/.exec(buffer)?.[1];
      if (!port) return;
      child.stdout.off('data', onData);
      child.stdout.resume(); // the request log keeps flowing; drained, never parsed
      child.off('exit', onExit);
      const url = `http://127.0.0.1:${port}`;
      resolve({ child, port: Number(port), url, stop: () => stop(child) });
    };
    const onExit = (code) => reject(new Error(`${args.join(' ')} exited with ${code} before listening: ${errors}`));
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', onData);
    child.once('exit', onExit);
  });
}

/** SIGTERM, then wait for the exit (SIGKILL after 5 s) so the next server has the core alone. */
export function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Runs the Tessera CLI; resolves with its standard output. */
export function runCli(args, env, input = '') {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], {
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.stdin.end(input);
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`tessera ${args.join(' ')}: ${err}`))));
  });
}

/**
 * Resident set size in MiB of the process that really serves: under taskset the child is the
 * server itself (taskset execs it), so its pid is the one to read.
 */
export function rssMiB(child) {
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  const kib = Number(/VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1]);
  return Math.round((kib / 1024) * 10) / 10;
}
