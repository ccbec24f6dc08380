import type { IncomingMessage } from 'node:http';
import { detail, HttpError } from './http-error.js';

const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads and parses a request body: JSON (an object) or an HTML form, at most `limit` bytes.
 * An empty body is an empty object, which is what clients such as the seed's bodiless
 * `PATCH` send. Everything else is a 4xx with a JSON reason — never a 500 or a hang (a slow
 * body is cut off by the server's request timeout).
 */
export async function readBody(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    req.resume();
    throw detail(413, `Request body is larger than ${limit} bytes.`);
  }
  const raw = await readRaw(req, limit);
  if (raw.length === 0) return {};

  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  let text: string;
  try {
    text = decoder.decode(raw);
  } catch {
    throw detail(400, 'Request body is not valid UTF-8.');
  }
  if (type === 'application/json' || type.endsWith('+json')) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      // A fixed message: the parser's own quotes the body, which may hold a password.
      throw detail(400, 'JSON parse error: the body is not valid JSON.');
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw detail(400, 'Request body must be a JSON object.');
    }
    return value as Record<string, unknown>;
  }
  if (type === 'application/x-www-form-urlencoded') {
    // No prototype: a field named __proto__ is a field like any other.
    const form: Record<string, unknown> = Object.create(null);
    for (const [key, value] of new URLSearchParams(text)) {
      // A repeated field is ambiguous; keep every value so validation can refuse it. Appended
      // in place: copying the list for each repeat made `a=&a=&…` O(n²) — a 64 KiB login form
      // held the event loop for seconds (issue 13 item 1; SECURITY H: never a hang).
      const existing = form[key];
      if (existing === undefined) form[key] = value;
      else if (Array.isArray(existing)) existing.push(value);
      else form[key] = [existing, value];
    }
    return form;
  }
  throw detail(415, `Unsupported media type "${type || 'none'}" in request; send application/json or a form.`);
}

/** Reads the raw body, at most `limit` bytes (413 past it). */
export function readRaw(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.resume();
        reject(detail(413, `Request body is larger than ${limit} bytes.`));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks, size)));
    req.once('error', (error) =>
      reject(new HttpError(400, { detail: `Request body could not be read: ${error.message}` })),
    );
  });
}
