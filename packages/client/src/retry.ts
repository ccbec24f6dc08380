import { isHTTPError, isNetworkError, isTimeoutError } from './errors.js';

/** When and how often {@link Client} retries. */
export interface RetryOptions {
  /** How many retries after the first attempt (default 2 when an object is given). */
  limit?: number;
  /** Methods retried (default the idempotent ones, RFC 9110 section 9.2.2). */
  methods?: string[];
  /** Statuses retried (default 408, 429, 500, 502, 503, 504). */
  statusCodes?: number[];
  /** First delay in ms, doubled each time (default 300); a `Retry-After` in seconds wins, up to 10 s. */
  delayMs?: number;
}

/** Fills in the defaults; throws `TypeError` naming `retry.limit` when it is not a count. */
export function normalizeRetry(retry: number | RetryOptions | undefined): Required<RetryOptions> {
  const options = typeof retry === 'number' ? { limit: retry } : (retry ?? { limit: 0 });
  const limit = options.limit ?? 2;
  if (!Number.isInteger(limit) || limit < 0) throw new TypeError('retry.limit must be an integer ≥ 0');
  return {
    limit,
    methods: (options.methods ?? ['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'TRACE']).map((m) => m.toUpperCase()),
    statusCodes: options.statusCodes ?? [408, 429, 500, 502, 503, 504],
    delayMs: options.delayMs ?? 300,
  };
}

/** Whether a failed attempt of `method` may be repeated: idempotent methods only (RFC 9110 section 9.2.2). */
export function shouldRetry(retry: Required<RetryOptions>, method: string, error: unknown): boolean {
  if (!retry.methods.includes(method)) return false;
  if (isHTTPError(error)) return retry.statusCodes.includes(error.status);
  return isNetworkError(error) || isTimeoutError(error);
}

/** Exponential backoff, or the server's `Retry-After` seconds, capped at 10 s. */
export function retryDelay(retry: Required<RetryOptions>, attempt: number, error: unknown): number {
  if (isHTTPError(error)) {
    const after = Number(error.response.headers.get('retry-after'));
    if (Number.isFinite(after) && after > 0) return Math.min(after * 1000, 10_000);
  }
  return Math.min(retry.delayMs * 2 ** attempt, 10_000);
}
