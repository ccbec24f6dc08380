import { HttpError } from './http-error.js';

/** An optional integer query parameter in [min, max]; anything else is a 400 naming it. */
export function optionalInt(text: string | undefined, name: string, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const value = /^\d{1,16}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new HttpError(400, { [name]: [`Must be an integer from ${min} to ${max}.`] });
  }
  return value;
}

/**
 * An optional instant: ISO 8601 with a time zone (`2026-11-22T10:00:00Z`) or milliseconds
 * since the epoch. A zone-less date would mean the server's local time, so it is refused.
 */
export function optionalInstant(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  if (/^\d{1,15}$/.test(text)) return Number(text);
  const iso = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/.test(text);
  const value = iso ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(value)) {
    throw new HttpError(400, {
      [name]: ['Give an ISO 8601 time with a zone (2026-11-22T10:00:00Z) or epoch milliseconds.'],
    });
  }
  return value;
}
