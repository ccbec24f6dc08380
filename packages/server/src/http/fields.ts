import { HttpError } from './http-error.js';

/**
 * Reads typed fields from a parsed body, collecting DRF-shaped errors
 * (`{"username": ["This field is required."]}`) so a client learns every problem at once.
 * Arrays and objects where a string belongs (`{"$ne": 1}`) are refused, never coerced.
 */
export class Fields {
  readonly #errors: Record<string, string[]> = {};

  constructor(private readonly body: Record<string, unknown>) {}

  string(name: string, options: { required: true }): string;
  string(name: string, options?: { required?: boolean }): string | undefined;
  string(name: string, options: { required?: boolean } = {}): string | undefined {
    const value = this.body[name];
    if (value === undefined || value === null) {
      if (options.required) this.error(name, 'This field is required.');
      return undefined;
    }
    if (typeof value !== 'string') {
      this.error(name, 'Not a valid string.');
      return undefined;
    }
    if (options.required && value === '') {
      this.error(name, 'This field may not be blank.');
      return undefined;
    }
    if (value.includes('\u0000')) {
      this.error(name, 'Null characters are not allowed.');
      return undefined;
    }
    return value;
  }

  boolean(name: string): boolean | undefined {
    const value = this.body[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value === 'boolean') return value;
    // Forms carry text; accept the spellings Django does.
    if (value === 'true' || value === 'True' || value === '1') return true;
    if (value === 'false' || value === 'False' || value === '0') return false;
    this.error(name, 'Must be a valid boolean.');
    return undefined;
  }

  stringList(name: string): string[] | undefined {
    const value = this.body[name];
    if (value === undefined || value === null) return undefined;
    const list = typeof value === 'string' ? [value] : value;
    if (!Array.isArray(list) || !list.every((v) => typeof v === 'string')) {
      this.error(name, 'Expected a list of strings.');
      return undefined;
    }
    return list;
  }

  has(name: string): boolean {
    return this.body[name] !== undefined;
  }

  error(name: string, message: string): void {
    this.#errors[name] = [...(this.#errors[name] ?? []), message];
  }

  /** Throws a 400 with every collected error, if there is any. */
  check(): void {
    if (Object.keys(this.#errors).length > 0) throw new HttpError(400, this.#errors);
  }
}
