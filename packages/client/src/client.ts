import type { Authentication, AuthRequest, CookieReader } from './authentication.js';
import { applyQuery, type BodyOptions, encodeBody, parseBody, type QueryInit, type ResponseType } from './body.js';
import { CookieJar } from './cookie-jar.js';
import { domainMatches, normalizeDomain } from './domain.js';
import { browserCookies, inBrowser } from './environment.js';
import { HTTPError, NetworkError, RedirectError, TimeoutError } from './errors.js';
import { normalizeRetry, type RetryOptions, retryDelay, shouldRetry } from './retry.js';

/** The `fetch` the client calls: the global one or any function of the same shape. */
export type FetchLike = (input: URL, init: RequestInit) => Promise<Response>;

/** Options of {@link Client}. */
export interface ClientOptions {
  /** The scheme that adds credentials (none by default). */
  auth?: Authentication;
  /** Relative request URLs are appended to this (its path is kept, like ky's `prefixUrl`). */
  baseUrl?: string | URL;
  /** Replaces `globalThis.fetch`, e.g. to record requests in tests. */
  fetch?: FetchLike;
  /** Whole-request time limit in ms, redirects and body included (default 30 000; 0 disables). */
  timeoutMs?: number;
  /** Retries of idempotent requests on network errors, timeouts and 408/429/5xx (default none). */
  retry?: number | RetryOptions;
  /** Headers sent with every request. */
  headers?: HeadersInit;
  /** The cookie jar used in Node when the scheme allows cookies (default a new one). */
  cookies?: CookieJar;
}

/** Options of one request. */
export interface RequestOptions extends BodyOptions {
  headers?: HeadersInit;
  query?: QueryInit;
  /** How to read the body (default `'auto'`: by content type). */
  responseType?: ResponseType;
  signal?: AbortSignal;
  /** Overrides the client's time limit for this request. */
  timeoutMs?: number;
  /** Overrides the client's scheme for this request; `null` sends none. */
  auth?: Authentication | null;
}

/** A response with its parsed body. */
export interface ClientResponse<T = unknown> {
  status: number;
  statusText: string;
  headers: Headers;
  /** The final URL, after redirects. */
  url: string;
  data: T;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 5;
const NO_COOKIES: CookieReader = { get: () => undefined };

/**
 * An HTTP client that adds one scheme's credentials, only to hosts inside the scheme's `domain`,
 * on every hop: redirects are followed by hand (at most 5) so a credential never follows a
 * redirect to another host (with `domain: '*'`, a redirect hop is credentialed only on the host first
 * requested, and never after an https → http downgrade). Bodies are parsed by content type; a non-2xx status throws
 * {@link HTTPError} (code `HTTP_ERROR`), a failed connection {@link NetworkError} (`NETWORK_ERROR`),
 * a slow one {@link TimeoutError} (`TIMEOUT`), a redirect loop {@link RedirectError}
 * (`TOO_MANY_REDIRECTS`). Misuse (two bodies, a bad URL) throws `TypeError`.
 *
 * @example
 * ```ts
 * const client = new Client({
 *   baseUrl: 'http://127.0.0.1:8000',
 *   auth: new TokenAuthentication({ token: '0cd2…', scheme: 'Token', domain: '127.0.0.1' }),
 * });
 * const me = await client.get<{ username: string }>('/api/whoami/');
 * ```
 */
export class Client {
  /** The jar holding the session's cookies (Node only; a browser keeps its own). */
  readonly cookies: CookieJar;
  readonly #auth: Authentication | undefined;
  readonly #authDomain: string;
  readonly #base: URL | undefined;
  readonly #fetch: FetchLike;
  readonly #timeoutMs: number;
  readonly #retry: Required<RetryOptions>;
  readonly #headers: Headers;

  constructor(options: ClientOptions = {}) {
    this.#auth = options.auth;
    if (this.#auth !== undefined && typeof this.#auth.authenticate !== 'function')
      throw new TypeError('auth must have an authenticate(request) method');
    this.#authDomain = normalizeDomain(this.#auth?.domain ?? '*');
    this.#base = options.baseUrl === undefined ? undefined : withSlash(new URL(options.baseUrl));
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    if (!(this.#timeoutMs >= 0)) throw new TypeError('timeoutMs must be a number ≥ 0');
    this.#retry = normalizeRetry(options.retry);
    this.#headers = new Headers(options.headers);
    this.cookies = options.cookies ?? new CookieJar();
  }

  /** `GET`; resolves to the parsed body. */
  get<T = unknown>(url: string | URL, options?: RequestOptions): Promise<T> {
    return this.request<T>('GET', url, options);
  }
  /** `POST`; resolves to the parsed body. */
  post<T = unknown>(url: string | URL, options?: RequestOptions): Promise<T> {
    return this.request<T>('POST', url, options);
  }
  /** `PUT`; resolves to the parsed body. */
  put<T = unknown>(url: string | URL, options?: RequestOptions): Promise<T> {
    return this.request<T>('PUT', url, options);
  }
  /** `PATCH`; resolves to the parsed body. */
  patch<T = unknown>(url: string | URL, options?: RequestOptions): Promise<T> {
    return this.request<T>('PATCH', url, options);
  }
  /** `DELETE`; resolves to the parsed body. */
  delete<T = unknown>(url: string | URL, options?: RequestOptions): Promise<T> {
    return this.request<T>('DELETE', url, options);
  }

  /** Sends a request and resolves to its parsed body; throws for non-2xx (see the class). */
  async request<T = unknown>(method: string, url: string | URL, options: RequestOptions = {}): Promise<T> {
    return (await this.send<T>(method, url, options)).data;
  }

  /** Like {@link Client.request} but resolves to status, headers, final URL and parsed body. */
  async send<T = unknown>(method: string, url: string | URL, options: RequestOptions = {}): Promise<ClientResponse<T>> {
    const verb = method.toUpperCase();
    const target = this.#resolve(url);
    applyQuery(target, options.query);
    for (let attempt = 0; ; attempt++) {
      try {
        return (await this.#send(verb, new URL(target), options)) as ClientResponse<T>;
      } catch (error) {
        if (attempt >= this.#retry.limit || !shouldRetry(this.#retry, verb, error) || options.signal?.aborted)
          throw error;
        await new Promise((resolve) => setTimeout(resolve, retryDelay(this.#retry, attempt, error)));
      }
    }
  }

  async #send(method: string, url: URL, options: RequestOptions): Promise<ClientResponse> {
    const timeoutMs = options.timeoutMs ?? this.#timeoutMs;
    const timeout = timeoutMs > 0 ? AbortSignal.timeout(timeoutMs) : undefined;
    const signals = [options.signal, timeout].filter((s): s is AbortSignal => s !== undefined);
    const signal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
    const auth = options.auth === undefined ? this.#auth : (options.auth ?? undefined);
    const authDomain = options.auth === undefined ? this.#authDomain : normalizeDomain(auth?.domain ?? '*');
    const browser = inBrowser();
    const useJar = auth?.allowCookies === true && !browser;
    let { body, contentType } = encodeBody(options);
    let verb = method;
    const firstOrigin = url.origin;
    const firstHost = url.hostname;
    const firstSecure = url.protocol === 'https:';
    const fail = (error: unknown, at: URL): never => {
      if (timeout?.aborted) throw new TimeoutError(verb, at.href, timeoutMs);
      if (options.signal?.aborted) throw options.signal.reason;
      throw new NetworkError(verb, at.href, error);
    };

    for (let hop = 0; ; hop++) {
      // A redirect hop gets the credential only inside an explicit domain ('*' means "the host you
      // asked for", not "any host a redirect names", as requests' rebuild_auth does) and never
      // after a downgrade from https to http.
      const inDomain =
        auth !== undefined &&
        domainMatches(authDomain, url) &&
        (hop === 0 ||
          ((authDomain !== '*' || url.hostname === firstHost) && !(firstSecure && url.protocol !== 'https:')));
      const headers = new Headers(this.#headers);
      for (const [key, value] of new Headers(options.headers)) headers.set(key, value);
      if (url.origin !== firstOrigin) {
        // Fetch spec, HTTP-redirect fetch step 13: credentials set by the caller stay with the first origin.
        for (const name of ['authorization', 'cookie', 'proxy-authorization']) headers.delete(name);
      }
      if (contentType !== undefined && body !== undefined && !headers.has('content-type'))
        headers.set('content-type', contentType);
      if (!headers.has('accept')) headers.set('accept', 'application/json, text/plain, */*');
      if (useJar && inDomain) {
        const jarCookies = this.cookies.cookieHeader(url);
        if (jarCookies !== '')
          headers.set('cookie', headers.has('cookie') ? `${headers.get('cookie')}; ${jarCookies}` : jarCookies);
      }
      let request: AuthRequest = { method: verb, url, headers, cookies: NO_COOKIES };
      if (auth !== undefined && inDomain) {
        request.cookies = browser ? browserCookies : useJar ? this.cookies : NO_COOKIES;
        request = await auth.authenticate(request);
      }
      const init: RequestInit = { method: verb, headers: request.headers, redirect: browser ? 'follow' : 'manual' };
      if (body !== undefined) init.body = body;
      if (signal !== undefined) init.signal = signal;
      if (browser) init.credentials = auth?.allowCookies && inDomain ? 'include' : 'same-origin';
      let response: Response;
      try {
        response = await this.#fetch(request.url, init);
      } catch (error) {
        return fail(error, url);
      }
      if (useJar && inDomain) this.cookies.storeResponse(response.headers, url);

      const location = response.headers.get('location');
      if (REDIRECTS.has(response.status) && location !== null && response.type !== 'opaqueredirect') {
        await response.body?.cancel().catch(() => undefined);
        if (hop + 1 > MAX_REDIRECTS) throw new RedirectError(method, url.href, `more than ${MAX_REDIRECTS} redirects`);
        let next: URL;
        try {
          next = new URL(location, url);
        } catch {
          throw new RedirectError(method, url.href, `redirect to an invalid Location ${JSON.stringify(location)}`);
        }
        if (next.protocol !== 'http:' && next.protocol !== 'https:')
          throw new RedirectError(method, url.href, `redirect to a ${next.protocol} URL`);
        // RFC 9110 section 15.4.4 (303) and the historical POST-to-GET of 301/302 (section 15.4.2-3).
        if (
          response.status === 303
            ? verb !== 'HEAD'
            : (response.status === 301 || response.status === 302) && verb === 'POST'
        ) {
          verb = 'GET';
          body = undefined;
          contentType = undefined;
        }
        url = next;
        continue;
      }

      let data: unknown;
      try {
        data = await parseBody(response, verb, response.ok ? (options.responseType ?? 'auto') : 'auto');
      } catch (error) {
        if (error instanceof SyntaxError) throw error;
        return fail(error, url);
      }
      const result: ClientResponse = {
        status: response.status,
        statusText: response.statusText,
        headers: response.headers,
        url: response.url || url.href,
        data,
      };
      if (!response.ok) throw new HTTPError(verb, result, data);
      return result;
    }
  }

  #resolve(url: string | URL): URL {
    if (url instanceof URL) return new URL(url);
    if (/^[a-z][a-z\d+.-]*:/i.test(url)) return new URL(url);
    if (this.#base === undefined) {
      if (typeof location !== 'undefined') return new URL(url, location.href);
      throw new TypeError(`url ${JSON.stringify(url)} is relative and the client has no baseUrl`);
    }
    return new URL(url.replace(/^\/+/, ''), this.#base);
  }
}

function withSlash(url: URL): URL {
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}
