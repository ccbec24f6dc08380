/**
 * The client's error family, modelled on ky's `HTTPError` / `NetworkError` / `TimeoutError`.
 * Every error carries a stable UPPER_SNAKE `code` and a brand under a registry symbol
 * (`Symbol.for`), which is shared by every realm of one agent: the `is…()` guards therefore
 * recognise errors thrown by another copy of this package, an iframe or a `vm` context, where
 * `instanceof` fails.
 */

const BRAND = Symbol.for('@tessera/client.error');

/** The codes the client's errors can carry. */
export type ClientErrorCode = 'HTTP_ERROR' | 'NETWORK_ERROR' | 'TIMEOUT' | 'TOO_MANY_REDIRECTS';

/** What a non-2xx response held, as {@link HTTPError} exposes it. */
export interface ErrorResponse {
  status: number;
  statusText: string;
  url: string;
  headers: Headers;
}

/**
 * A response whose status was not 2xx (after following redirects). Code `HTTP_ERROR`.
 *
 * @example
 * ```ts
 * try {
 *   await client.get('/authentication/whoami/');
 * } catch (error) {
 *   if (isHTTPError(error) && error.status === 401) console.log(error.body); // { detail: '…' }
 * }
 * ```
 */
export class HTTPError extends Error {
  override readonly name = 'HTTPError';
  readonly code = 'HTTP_ERROR' as const;
  /** The response status, e.g. 401. */
  readonly status: number;
  /** The response body, parsed by its content type (object for JSON, string for text, `null` when empty). */
  readonly body: unknown;
  /** Status line, final URL and headers of the response. */
  readonly response: ErrorResponse;
  readonly method: string;

  constructor(method: string, response: ErrorResponse, body: unknown) {
    super(
      `${method} ${response.url} answered ${response.status}${response.statusText ? ` ${response.statusText}` : ''}${reason(body)}`,
    );
    brand(this, 'HTTPError');
    this.method = method;
    this.status = response.status;
    this.body = body;
    this.response = response;
  }
}

/**
 * The request never got a response: DNS, refused connection, reset, TLS. Code `NETWORK_ERROR`;
 * `cause` is the underlying error.
 *
 * @example
 * ```ts
 * try {
 *   await new Client({ baseUrl: 'http://127.0.0.1:9' }).get('/');
 * } catch (error) {
 *   if (isNetworkError(error)) console.log(error.cause);
 * }
 * ```
 */
export class NetworkError extends Error {
  override readonly name = 'NetworkError';
  readonly code = 'NETWORK_ERROR' as const;
  readonly method: string;
  readonly url: string;

  constructor(method: string, url: string, cause: unknown) {
    super(`${method} ${url} failed: ${describe(cause)}`, { cause });
    brand(this, 'NetworkError');
    this.method = method;
    this.url = url;
  }
}

/**
 * The request took longer than the client's `timeoutMs` (redirects and body included). Code `TIMEOUT`.
 *
 * @example
 * ```ts
 * try {
 *   await new Client({ baseUrl, timeoutMs: 100 }).get('/slow');
 * } catch (error) {
 *   if (isTimeoutError(error)) console.log(error.timeoutMs); // 100
 * }
 * ```
 */
export class TimeoutError extends Error {
  override readonly name = 'TimeoutError';
  readonly code = 'TIMEOUT' as const;
  readonly method: string;
  readonly url: string;
  readonly timeoutMs: number;

  constructor(method: string, url: string, timeoutMs: number) {
    super(`${method} ${url} timed out after ${timeoutMs} ms`);
    brand(this, 'TimeoutError');
    this.method = method;
    this.url = url;
    this.timeoutMs = timeoutMs;
  }
}

/**
 * More than 5 redirects in a row (or a redirect without a usable `Location`). Code `TOO_MANY_REDIRECTS`.
 *
 * @example
 * ```ts
 * try {
 *   await client.get('/loop');
 * } catch (error) {
 *   if (isRedirectError(error)) console.log(error.url);
 * }
 * ```
 */
export class RedirectError extends Error {
  override readonly name = 'RedirectError';
  readonly code = 'TOO_MANY_REDIRECTS' as const;
  readonly method: string;
  readonly url: string;

  constructor(method: string, url: string, message: string) {
    super(`${method} ${url}: ${message}`);
    brand(this, 'RedirectError');
    this.method = method;
    this.url = url;
  }
}

/**
 * Whether `error` is an {@link HTTPError}, from this realm or another.
 *
 * @example
 * ```ts
 * if (isHTTPError(error) && error.status === 403) console.log('forbidden');
 * ```
 */
export function isHTTPError(error: unknown): error is HTTPError {
  return error instanceof HTTPError || branded(error, 'HTTPError', 'HTTP_ERROR');
}

/**
 * Whether `error` is a {@link NetworkError}, from this realm or another.
 *
 * @example
 * ```ts
 * if (isNetworkError(error)) console.log('offline?', error.cause);
 * ```
 */
export function isNetworkError(error: unknown): error is NetworkError {
  return error instanceof NetworkError || branded(error, 'NetworkError', 'NETWORK_ERROR');
}

/**
 * Whether `error` is a {@link TimeoutError}, from this realm or another.
 *
 * @example
 * ```ts
 * if (isTimeoutError(error)) console.log(`gave up after ${error.timeoutMs} ms`);
 * ```
 */
export function isTimeoutError(error: unknown): error is TimeoutError {
  return error instanceof TimeoutError || branded(error, 'TimeoutError', 'TIMEOUT');
}

/**
 * Whether `error` is a {@link RedirectError}, from this realm or another.
 *
 * @example
 * ```ts
 * if (isRedirectError(error)) console.log(error.message);
 * ```
 */
export function isRedirectError(error: unknown): error is RedirectError {
  return error instanceof RedirectError || branded(error, 'RedirectError', 'TOO_MANY_REDIRECTS');
}

function brand(error: Error, name: string): void {
  Object.defineProperty(error, BRAND, { value: name, enumerable: false });
}

function branded(error: unknown, name: string, code: string): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const record = error as Record<PropertyKey, unknown>;
  return record[BRAND] === name && record.name === name && record.code === code;
}

function describe(cause: unknown): string {
  if (cause instanceof Error) {
    const inner = cause.cause instanceof Error ? cause.cause.message : '';
    return inner ? `${cause.message} (${inner})` : cause.message;
  }
  return String(cause);
}

/**
 * The server's own reason, when it gave one in the `{"detail": "…"}` shape Tessera and DRF use
 * (a 401 names the credential form it expected): `": Invalid token."`, else nothing.
 */
function reason(body: unknown): string {
  const detail = typeof body === 'object' && body !== null ? (body as { detail?: unknown }).detail : undefined;
  if (typeof detail !== 'string' || detail === '') return '';
  return `: ${detail.length > 200 ? `${detail.slice(0, 200)}…` : detail}`;
}
