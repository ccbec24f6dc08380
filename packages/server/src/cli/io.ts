import { AsyncLocalStorage } from 'node:async_hooks';

/** Where a CLI command reads and writes: the process's own streams, or a caller's (in-process runs). */
export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  readonly stdin: AsyncIterable<Buffer | string>;
  readonly env: NodeJS.ProcessEnv;
  /** The directory relative paths are taken from. */
  readonly cwd: string;
}

const processIo: CliIo = {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  get cwd() {
    return process.cwd();
  },
};

const current = new AsyncLocalStorage<CliIo>();

/** The streams and environment of the command running now (the process's, unless run by `runCli`). */
export function io(): CliIo {
  return current.getStore() ?? processIo;
}

/** Runs `work` with `value` as what {@link io} returns, for everything it awaits. */
export function withIo<T>(value: CliIo, work: () => Promise<T>): Promise<T> {
  return current.run(value, work);
}
