import type { CookieReader } from './authentication.js';

/** True in a browser page (a DOM with `document.cookie`), where the browser owns cookies and redirects. */
export function inBrowser(): boolean {
  return typeof document !== 'undefined' && typeof document.cookie === 'string';
}

/** Reads cookies from `document.cookie` (only those visible to scripts: the CSRF cookie is, by design). */
export const browserCookies: CookieReader = {
  get(name) {
    for (const part of document.cookie.split(';')) {
      const eq = part.indexOf('=');
      if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponentSafe(part.slice(eq + 1).trim());
    }
    return undefined;
  },
};

function decodeURIComponentSafe(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
