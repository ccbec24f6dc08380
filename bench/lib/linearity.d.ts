// Types of linearity.js, for the vitest test that imports it.

/** One parser and its two adversarial inputs (flat strings, about 10× apart in length). */
export interface LinearityCase {
  name: string;
  parse(input: string): unknown;
  small: string;
  large: string;
}

/** What {@link measure} found: time per call of each input, and their ratio. */
export interface LinearityFigure {
  name: string;
  smallChars: number;
  largeChars: number;
  smallUs: number;
  largeUs: number;
  ratio: number;
}

export declare const SMALL: number;
export declare const LARGE: number;

export declare function openParsers(): Promise<{ cases: LinearityCase[]; close(): Promise<void> }>;

export declare function measure(
  testCase: LinearityCase,
  options?: { rounds?: number; batchMs?: number; budgetMs?: number },
): Promise<LinearityFigure>;
