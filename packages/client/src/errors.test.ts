import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import {
  HTTPError,
  isHTTPError,
  isNetworkError,
  isRedirectError,
  isTimeoutError,
  NetworkError,
  RedirectError,
  TimeoutError,
} from './errors.js';

const response = { status: 404, statusText: 'Not Found', url: 'http://h.test/x', headers: new Headers() };

describe('the error family', () => {
  it('gives each error its own name, a stable code, and keeps the cause', () => {
    const cause = new Error('ECONNREFUSED');
    const errors = [
      new HTTPError('GET', response, { detail: 'no' }),
      new NetworkError('GET', 'http://h.test/', cause),
      new TimeoutError('GET', 'http://h.test/', 50),
      new RedirectError('GET', 'http://h.test/', 'more than 5 redirects'),
    ];
    expect(errors.map((e) => [e.name, e.code])).toEqual([
      ['HTTPError', 'HTTP_ERROR'],
      ['NetworkError', 'NETWORK_ERROR'],
      ['TimeoutError', 'TIMEOUT'],
      ['RedirectError', 'TOO_MANY_REDIRECTS'],
    ]);
    expect(errors[1]?.cause).toBe(cause);
    expect(errors.every((e) => e instanceof Error && typeof e.stack === 'string')).toBe(true);
  });

  it('has guards that tell the errors apart', () => {
    const http = new HTTPError('GET', response, null);
    expect([isHTTPError(http), isNetworkError(http), isTimeoutError(http), isRedirectError(http)]).toEqual([
      true,
      false,
      false,
      false,
    ]);
    expect(isTimeoutError(new TimeoutError('GET', 'http://h.test/', 1))).toBe(true);
    expect(isNetworkError(new Error('x'))).toBe(false);
    expect(isHTTPError(null)).toBe(false);
  });

  it('recognises an error made in another realm by its registry brand, where instanceof fails', () => {
    const foreign = runInNewContext(`
      const e = new Error('GET http://h.test/ answered 500');
      e.name = 'HTTPError';
      e.code = 'HTTP_ERROR';
      e.status = 500;
      Object.defineProperty(e, Symbol.for('@tessera/client.error'), { value: 'HTTPError' });
      e;
    `) as unknown;
    expect(foreign instanceof HTTPError).toBe(false);
    expect(foreign instanceof Error).toBe(false);
    expect(isHTTPError(foreign)).toBe(true);
    expect(isNetworkError(foreign)).toBe(false);
  });

  it('does not take a look-alike without the brand for one of ours', () => {
    const lookalike = Object.assign(new Error('x'), { name: 'HTTPError', code: 'HTTP_ERROR', status: 500 });
    expect(isHTTPError(lookalike)).toBe(false);
  });
});
