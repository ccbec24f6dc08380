import type { Parameters as FcParameters } from 'fast-check';

/**
 * Settings shared by the fuzz suites. The seed is fixed unless `TESSERA_FUZZ_SEED` names
 * another, so a failure in CI is reproduced by running again; `TESSERA_FUZZ_RUNS` scales
 * every property's run count (a multiplier: 10 runs ten times as many inputs).
 */
export const FUZZ_SEED = readInteger('TESSERA_FUZZ_SEED', 0x7e55e7a);
const MULTIPLIER = readNumber('TESSERA_FUZZ_RUNS', 1);

function readInteger(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw new TypeError(`${name} must be an integer, not ${JSON.stringify(text)}`);
  return value | 0;
}

function readNumber(name: string, fallback: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!(value > 0)) throw new TypeError(`${name} must be a positive multiplier, not ${JSON.stringify(text)}`);
  return value;
}

/** How many inputs each property saw, for the figure the closing note quotes. */
export class FuzzTally {
  readonly #counts = new Map<string, number>();

  constructor(private readonly file: string) {}

  /** fast-check parameters for one property: the shared seed, `baseRuns` scaled. */
  params<T>(baseRuns: number, extra: Partial<FcParameters<T>> = {}): FcParameters<T> {
    return { seed: FUZZ_SEED, numRuns: Math.max(1, Math.round(baseRuns * MULTIPLIER)), ...extra };
  }

  /** Counts one input tried by the property `name` (shrinking runs included). */
  tried(name: string, inputs = 1): void {
    this.#counts.set(name, (this.#counts.get(name) ?? 0) + inputs);
  }

  get total(): number {
    let sum = 0;
    for (const count of this.#counts.values()) sum += count;
    return sum;
  }

  /** One line per file: seed, multiplier, every property's count and the sum. */
  report(): void {
    const lines = [...this.#counts].map(([name, count]) => `  ${String(count).padStart(7)}  ${name}`);
    console.log(
      `[fuzz] ${this.file}: ${this.total} inputs (seed ${FUZZ_SEED}, runs ×${MULTIPLIER})\n${lines.join('\n')}`,
    );
  }
}
