/**
 * An HTTP answer other than success, thrown by route handlers and turned into a response by
 * the server. Only the HTTP layer speaks status codes; the core returns values and throws
 * {@link TesseraError}s.
 */
export class HttpError extends Error {
  override readonly name = 'HttpError';

  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    // An answer, not a fault: nobody reads its stack, and capturing one was a visible share
    // of every refused request (an unknown token costs a 401 each time).
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(`HTTP ${status}`);
    Error.stackTraceLimit = limit;
  }
}

/** `{"detail": message}`, the error body shape DRF clients expect. */
export function detail(status: number, message: string, headers?: Record<string, string>): HttpError {
  return new HttpError(status, { detail: message }, headers);
}

/** 429 in DRF's words, with `Retry-After` (SECURITY B3). */
export function throttled(retryAfterSeconds: number): HttpError {
  return detail(429, `Request was throttled. Expected available in ${retryAfterSeconds} seconds.`, {
    'Retry-After': String(retryAfterSeconds),
  });
}
