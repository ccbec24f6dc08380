/**
 * `@tessera/client`: a zero-dependency HTTP client for APIs protected by Tessera (and by the
 * products it is wire-compatible with), with coreapi-style domain-scoped authentication schemes.
 *
 * @packageDocumentation
 */
export type { Authentication, AuthRequest, CookieReader, DomainOption } from './authentication.js';
export { BasicAuthentication, type BasicAuthenticationOptions } from './basic.js';
export { BearerAuthentication, type BearerAuthenticationOptions, type BearerToken } from './bearer.js';
export type { QueryInit, ResponseType } from './body.js';
export { Client, type ClientOptions, type ClientResponse, type FetchLike, type RequestOptions } from './client.js';
export { ConjurAuthentication, type ConjurAuthenticationOptions, type ConjurToken } from './conjur.js';
export { CookieJar, type CookieJarOptions, type StoredCookie } from './cookie-jar.js';
export { domainMatches, normalizeDomain } from './domain.js';
export {
  type ClientErrorCode,
  type ErrorResponse,
  HTTPError,
  isHTTPError,
  isNetworkError,
  isRedirectError,
  isTimeoutError,
  NetworkError,
  RedirectError,
  TimeoutError,
} from './errors.js';
export type { RetryOptions } from './retry.js';
export { SessionAuthentication, type SessionAuthenticationOptions } from './session.js';
export { TokenAuthentication, type TokenAuthenticationOptions } from './token.js';
