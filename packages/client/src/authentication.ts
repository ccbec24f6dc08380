/**
 * The contract every scheme implements, after coreapi's `AuthBase` (seed 001): `allowCookies`
 * says whether the client keeps cookies for it, and `authenticate(request)` returns the request
 * with its credential added. The client calls `authenticate` once per hop (so once per redirect)
 * and only when the hop's host is inside the scheme's `domain`.
 */

/** Read access to the cookies the client would send with a request. */
export interface CookieReader {
  /** The value of cookie `name` that applies to `url`, if any. */
  get(name: string, url: URL): string | undefined;
}

/** One outgoing hop, as a scheme sees and changes it. */
export interface AuthRequest {
  /** Upper-case method. */
  method: string;
  url: URL;
  /** The headers to send; a scheme sets its credential here. */
  headers: Headers;
  /** The cookies that apply (the client's jar in Node, `document.cookie` in a browser). */
  cookies: CookieReader;
}

/**
 * An authentication scheme. Any object of this shape works with {@link Client}.
 *
 * @example
 * ```ts
 * const apiKey: Authentication = {
 *   allowCookies: false,
 *   domain: 'api.example.com',
 *   authenticate(request) {
 *     request.headers.set('x-api-key', 'k-123');
 *     return request;
 *   },
 * };
 * const client = new Client({ auth: apiKey, baseUrl: 'https://api.example.com' });
 * ```
 */
export interface Authentication {
  /** Whether the client keeps and sends cookies (a session) for this scheme. */
  readonly allowCookies: boolean;
  /** `'*'` (the default), a host, or `'*.host'` for its subdomains; requests elsewhere get no credential. */
  readonly domain?: string;
  /** Adds the credential to `request` and returns it (or a promise of it). */
  authenticate(request: AuthRequest): AuthRequest | Promise<AuthRequest>;
}

/** Options every built-in scheme accepts. */
export interface DomainOption {
  /** `'*'` (the default): any host; `'api.example.com'`: that host; `'*.example.com'`: its subdomains. */
  domain?: string;
}
