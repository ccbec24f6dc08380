// wrk as the load generator: one thread, its own process on the generator core, a generated Lua
// script for the method, headers and body (or a rotating set of them), and its --latency table parsed.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pinned, pinning } from './processes.js';

/** Each connection of a paced run waits this long between an answer and its next request. */
export const PACE_MS = 8;

/** A Lua string literal: the values here are ASCII (tokens, JSON bodies), which JSON quotes as Lua does. */
function lua(text) {
  if (!/^[\x20-\x7e]*$/.test(text)) throw new Error(`not printable ASCII, cannot pass to wrk: ${text.slice(0, 40)}`);
  return JSON.stringify(text);
}

function luaTable(headers) {
  return `{ ${Object.entries(headers)
    .map(([k, v]) => `[${lua(k)}] = ${lua(v)}`)
    .join(', ')} }`;
}

/**
 * The script for one run. One fixed request lets wrk build it once; a rotating set costs a Lua
 * call per request, on the generator's core, never the server's.
 */
export function script({ method, headers, body, variants, rate }) {
  const lines = [`wrk.method = ${lua(method)}`];
  // A paced run: every connection waits between an answer and its next request.
  if (rate !== undefined) lines.push(`function delay()\n  return ${PACE_MS}\nend`);
  if (!variants) {
    for (const [k, v] of Object.entries(headers)) lines.push(`wrk.headers[${lua(k)}] = ${lua(v)}`);
    if (body !== undefined) lines.push(`wrk.body = ${lua(body)}`);
    return `${lines.join('\n')}\n`;
  }
  lines.push('local variants = {');
  for (const v of variants) {
    const h = { ...headers, ...v.headers };
    const b = v.body ?? body;
    if (b !== undefined) h['content-type'] ??= 'application/json';
    lines.push(`  { ${luaTable(h)}, ${b === undefined ? 'nil' : lua(b)} },`);
  }
  lines.push('}');
  lines.push('local i = 0');
  lines.push('request = function()');
  lines.push('  i = i % #variants + 1');
  lines.push('  local v = variants[i]');
  lines.push('  return wrk.format(nil, nil, v[1], v[2])');
  lines.push('end');
  return `${lines.join('\n')}\n`;
}

const UNIT_MS = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

function milliseconds(text) {
  const match = /^([\d.]+)(us|ms|s|m)$/.exec(text);
  if (!match) throw new Error(`wrk: cannot read the latency ${text}`);
  return Math.round(Number(match[1]) * UNIT_MS[match[2]] * 1000) / 1000;
}

/** Reads wrk's report: throughput, the latency distribution and the error counts. */
export function parse(output) {
  const number = (pattern) => Number(pattern.exec(output)?.[1] ?? 0);
  const percentile = (p) => {
    const match = new RegExp(`^\\s*${p}%\\s+(\\S+)`, 'm').exec(output);
    if (!match) throw new Error(`wrk printed no ${p}% latency:\n${output}`);
    return milliseconds(match[1]);
  };
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const requests = number(/(\d+) requests in/);
  if (requests === 0) throw new Error(`wrk completed no request:\n${output}`);
  return {
    rps: Math.round(number(/Requests\/sec:\s+([\d.]+)/)),
    requests,
    non2xx: number(/Non-2xx or 3xx responses: (\d+)/),
    errors: socket ? Number(socket[1]) + Number(socket[2]) + Number(socket[3]) : 0,
    timeouts: socket ? Number(socket[4]) : 0,
    p50: percentile(50),
    p99: percentile(99),
  };
}

/** Runs wrk once; resolves with {@link parse}'s figures. */
export function runWrk(spec) {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-wrk-'));
  const file = join(dir, 'scenario.lua');
  writeFileSync(file, script(spec));
  const argv = pinned(pinning.generator, [
    'wrk',
    '--threads',
    '1',
    '--connections',
    String(spec.connections),
    '--duration',
    `${spec.duration}s`,
    '--timeout',
    '10s',
    '--latency',
    '--script',
    file,
    spec.url,
  ]);
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      rmSync(dir, { recursive: true, force: true });
      if (code !== 0) reject(new Error(`wrk exited with ${code}:\n${out}`));
      else {
        try {
          resolve(parse(out));
        } catch (error) {
          reject(error);
        }
      }
    });
  });
}
