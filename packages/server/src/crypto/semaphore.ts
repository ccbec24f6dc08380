import { TesseraError } from '../errors.js';

/**
 * Bounds how many expensive jobs run at once and how many may wait. Password hashing uses
 * it so that a login storm queues (and past the queue bound, fails fast with `HASHER_BUSY`)
 * instead of exhausting memory or the libuv thread pool that the rest of the server shares.
 */
export class Semaphore {
  readonly #limit: number;
  readonly #maxQueue: number;
  #active = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(limit: number, maxQueue: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new TypeError('limit must be a positive integer');
    this.#limit = limit;
    this.#maxQueue = maxQueue;
  }

  async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.#active >= this.#limit) {
      if (this.#waiting.length >= this.#maxQueue) throw new TesseraError('HASHER_BUSY');
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#active++;
    }
    try {
      return await job();
    } finally {
      const next = this.#waiting.shift();
      // Hand the slot straight to the next waiter; otherwise release it.
      if (next) next();
      else this.#active--;
    }
  }
}
