import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { runCli as runCliInProcess } from '../../src/cli/program.js';

/** The built CLI (the Vitest global setup compiles `dist/` before any test runs). */
export const CLI = resolve(dirname(fileURLToPath(import.meta.url)), '../../dist/cli/main.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * The test process's environment without any `TESSERA_*` variable, plus `extra`: a child
 * sees only the configuration a test gives it.
 */
export function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('TESSERA_')) env[name] = value;
  }
  return { ...env, ...extra };
}

/**
 * Runs `tessera …args` to completion. Standard input gets `input` (or nothing) and is then
 * closed, so a command reading a password never waits for a terminal.
 *
 * In this process (`runCli` of src/cli/program.ts: no node start-up, modules loaded once),
 * unless the test is about the process boundary: `serve`, or `process: true` (exit status of
 * the real binary, several processes racing on one database).
 */
export function runCli(
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; input?: string; timeoutMs?: number; process?: boolean },
): Promise<CliResult> {
  if (options.process || args[0] === 'serve') return runCliProcess(args, options);
  return runInProcess(args, options);
}

/**
 * One in-process command at a time: better-sqlite3 waits for a busy database synchronously,
 * so two commands of one process contending for the write lock would stall each other's event loop.
 */
let inProcessQueue: Promise<unknown> = Promise.resolve();

function runInProcess(
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; input?: string; timeoutMs?: number },
): Promise<CliResult> {
  const run = inProcessQueue.then(async () => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`tessera ${args.join(' ')} did not finish in time (in-process)`)),
        options.timeoutMs ?? 60_000,
      );
    });
    try {
      const result = await Promise.race([
        runCliInProcess(args, {
          cwd: options.cwd,
          env: options.env,
          ...(options.input !== undefined && { stdin: options.input }),
        }),
        timeout,
      ]);
      return { ...result, signal: null };
    } finally {
      clearTimeout(timer);
    }
  });
  inProcessQueue = run.catch(() => undefined);
  return run;
}

/** Runs `node dist/cli/main.js …args` to completion in a child process. */
export function runCliProcess(
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; input?: string; timeoutMs?: number },
): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const { child, output } = spawnCli(args, options, 'pipe');
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tessera ${args.join(' ')} did not finish in time; stderr: ${output.stderr}`));
    }, options.timeoutMs ?? 60_000);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout: output.stdout, stderr: output.stderr });
    });
    child.stdin?.on('error', () => undefined); // the command may exit before reading stdin
    child.stdin?.end(options.input ?? '');
  });
}

/** A `tessera serve` child process that has logged its listening line. */
export interface ServeProcess {
  child: ChildProcess;
  /** `http://127.0.0.1:PORT`, parsed from the first log line. */
  url: string;
  port: number;
  /** The listening line, parsed as JSON. */
  firstLine: Record<string, unknown>;
  /** When the child was spawned (`performance.now()`). */
  spawnedAt: number;
  stdout(): string;
  stderr(): string;
  /** Resolves when the child exits; rejects after `timeoutMs`. */
  exited(timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILLs the child if it still runs (test cleanup). */
  kill(): void;
}

const LISTENING = /^tessera listening on (http:\/\/127\.0\.0\.1:(\d+))$/;

/**
 * Spawns `tessera serve --port 0 …args` and waits for the JSON log line
 * `tessera listening on http://127.0.0.1:PORT`; every stdout line before it must be JSON too.
 */
export function startServe(
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<ServeProcess> {
  const spawnedAt = performance.now();
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', ...args], {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) => {
    child.on('exit', (code, signal) => resolveExit({ code, signal }));
  });
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };

  return new Promise((resolvePromise, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      kill();
      reject(new Error(`tessera serve logged no listening line in time; stdout: ${stdout} stderr: ${stderr}`));
    }, options.timeoutMs ?? 30_000);
    void exit.then(({ code, signal }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(new Error(`tessera serve exited (${code ?? signal}) before listening; stderr: ${stderr}`));
    });
    let scanned = 0;
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
      if (settled) return;
      // Lines before it (such as "database schema migrated") are JSON too; the listening line ends the wait.
      let match: RegExpExecArray | null = null;
      let firstLine: Record<string, unknown> = {};
      for (let newline = stdout.indexOf('\n', scanned); newline >= 0; newline = stdout.indexOf('\n', scanned)) {
        const line = stdout.slice(scanned, newline);
        scanned = newline + 1;
        try {
          firstLine = JSON.parse(line) as Record<string, unknown>;
        } catch {
          settled = true;
          clearTimeout(timer);
          kill();
          reject(new Error(`a line of tessera serve is not JSON: ${line}`));
          return;
        }
        match = LISTENING.exec(String(firstLine.msg));
        if (match) break;
      }
      if (!match) return;
      settled = true;
      clearTimeout(timer);
      resolvePromise({
        child,
        url: match[1] as string,
        port: Number(match[2]),
        firstLine,
        spawnedAt,
        stdout: () => stdout,
        stderr: () => stderr,
        exited: (timeoutMs) =>
          new Promise((resolveExited, rejectExited) => {
            const t = setTimeout(
              () => rejectExited(new Error(`tessera serve still running after ${timeoutMs} ms`)),
              timeoutMs,
            );
            void exit.then((result) => {
              clearTimeout(t);
              resolveExited(result);
            });
          }),
        kill,
      });
    });
  });
}

/** Asserts-friendly view of a failed command: its stderr lines (without the final newline). */
export function stderrLines(result: CliResult): string[] {
  return result.stderr.replace(/\n$/, '').split('\n');
}

/** A refusal: exit status 1, nothing on stdout, exactly one `tessera: …` line on stderr. */
export function expectOneLineRefusal(result: CliResult, reason: RegExp): void {
  expect(result.code, result.stderr).toBe(1);
  expect(result.stdout).toBe('');
  expect(result.stderr.endsWith('\n')).toBe(true);
  const lines = stderrLines(result);
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^tessera: /);
  expect(lines[0]).toMatch(reason);
}

/** A long-running CLI command (such as `audit tail --follow`) that a test reads and stops. */
export interface CliProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves once standard error has printed its first line (the command says it is ready). */
  waitForStart(timeoutMs?: number): Promise<void>;
  /** Resolves once standard output matches `pattern`. */
  waitForOutput(pattern: RegExp, timeoutMs: number): Promise<void>;
  exited(timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILLs the child if it still runs (test cleanup). */
  kill(): void;
}

/** Spawns `node dist/cli/main.js …args` without waiting for it to finish. */
export function startCli(args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): CliProcess {
  const { child, output } = spawnCli(args, options, 'ignore');
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) => {
    child.on('exit', (code, signal) => resolveExit({ code, signal }));
  });
  const until = (done: () => boolean, timeoutMs: number, what: string) =>
    new Promise<void>((resolveWait, rejectWait) => {
      const started = Date.now();
      const poll = setInterval(() => {
        if (done()) {
          clearInterval(poll);
          resolveWait();
        } else if (Date.now() - started > timeoutMs || child.exitCode !== null) {
          clearInterval(poll);
          rejectWait(
            new Error(
              `tessera ${args.join(' ')}: no ${what} in time; stdout: ${output.stdout} stderr: ${output.stderr}`,
            ),
          );
        }
      }, 10);
    });
  return {
    child,
    stdout: () => output.stdout,
    stderr: () => output.stderr,
    waitForStart: (timeoutMs = 30_000) => until(() => output.stderr.includes('\n'), timeoutMs, 'first line on stderr'),
    waitForOutput: (pattern, timeoutMs) =>
      until(() => pattern.test(output.stdout), timeoutMs, `output matching ${pattern}`),
    exited: (timeoutMs) =>
      Promise.race([
        exit,
        new Promise<never>((_, rejectExit) =>
          setTimeout(() => rejectExit(new Error(`tessera ${args.join(' ')} still running`)), timeoutMs).unref(),
        ),
      ]),
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** Spawns the built CLI, collecting what it prints as it prints it. */
function spawnCli(
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
  stdin: 'pipe' | 'ignore',
): { child: ChildProcess; output: { stdout: string; stderr: string } } {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: options.cwd,
    env: options.env,
    stdio: [stdin, 'pipe', 'pipe'],
  });
  const output = { stdout: '', stderr: '' };
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    output.stdout += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    output.stderr += chunk;
  });
  return { child, output };
}
