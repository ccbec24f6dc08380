import { describe, expect, it } from 'vitest';
import { prefersHtml } from './home-page.js';

describe('prefersHtml', () => {
  it('is true for what browsers send', () => {
    // Firefox and Chromium navigation requests.
    expect(prefersHtml('text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8')).toBe(true);
    expect(
      prefersHtml(
        'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7',
      ),
    ).toBe(true);
    expect(prefersHtml('TEXT/HTML')).toBe(true);
  });

  it('is false for API clients: no header, */*, JSON, or JSON ranked above HTML', () => {
    expect(prefersHtml(undefined)).toBe(false);
    expect(prefersHtml('')).toBe(false);
    expect(prefersHtml('*/*')).toBe(false);
    expect(prefersHtml('application/json')).toBe(false);
    expect(prefersHtml('application/json, text/html;q=0.5')).toBe(false);
    expect(prefersHtml('text/html;q=0.5, */*')).toBe(false);
  });

  it('counts text/html;q=0 and malformed q values as refusals', () => {
    expect(prefersHtml('text/html;q=0')).toBe(false);
    expect(prefersHtml('text/html;q=2')).toBe(false);
    expect(prefersHtml('text/html;q=abc')).toBe(false);
    expect(prefersHtml('text/html;q=0.001')).toBe(true);
  });
});
