/** How a response body is read: by its content type (`'auto'`), or as the named type. */
export type ResponseType = 'auto' | 'json' | 'text' | 'arrayBuffer';

/** Query parameters: a record (arrays repeat the key; `undefined`/`null` are skipped) or URLSearchParams. */
export type QueryInit =
  | URLSearchParams
  | Record<string, string | number | boolean | null | undefined | ReadonlyArray<string | number | boolean>>;

/** The body-related request options. */
export interface BodyOptions {
  json?: unknown;
  form?: URLSearchParams | Record<string, string>;
  body?: BodyInit | null;
}

/** Encodes exactly one of `json`, `form` or `body`; throws `TypeError` when more than one is given. */
export function encodeBody(options: BodyOptions): { body: BodyInit | undefined; contentType: string | undefined } {
  const given = [options.json !== undefined, options.form !== undefined, options.body != null].filter(Boolean).length;
  if (given > 1) throw new TypeError('give only one of json, form and body');
  if (options.json !== undefined) return { body: JSON.stringify(options.json), contentType: 'application/json' };
  if (options.form !== undefined) {
    const params = options.form instanceof URLSearchParams ? options.form : new URLSearchParams(options.form);
    return { body: params.toString(), contentType: 'application/x-www-form-urlencoded;charset=UTF-8' };
  }
  return { body: options.body ?? undefined, contentType: undefined };
}

/** Appends `query` to `url`'s search parameters. */
export function applyQuery(url: URL, query: QueryInit | undefined): void {
  if (query === undefined) return;
  if (query instanceof URLSearchParams) {
    for (const [key, value] of query) url.searchParams.append(key, value);
    return;
  }
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null) continue;
    const values = Array.isArray(value) ? value : [value];
    for (const item of values) url.searchParams.append(key, String(item));
  }
}

const TEXTUAL = /^(text\/|application\/([\w.+-]*\+)?(json|xml|x-www-form-urlencoded|javascript)\b)/i;
const JSON_TYPE = /^application\/([\w.+-]*\+)?json\b/i;

/** Reads the body: JSON types parsed, textual types as a string, others as an ArrayBuffer, empty as `null`. */
export async function parseBody(response: Response, method: string, type: ResponseType): Promise<unknown> {
  if (type === 'arrayBuffer') return response.arrayBuffer();
  if (method === 'HEAD' || response.status === 204 || response.status === 205 || response.status === 304) {
    await response.body?.cancel();
    return type === 'text' ? '' : null;
  }
  const contentType = response.headers.get('content-type') ?? '';
  if (type === 'auto' && contentType !== '' && !TEXTUAL.test(contentType)) return response.arrayBuffer();
  const text = await response.text();
  if (type === 'text') return text;
  if (text === '') return null;
  if (type === 'json') return JSON.parse(text);
  if (JSON_TYPE.test(contentType)) {
    try {
      return JSON.parse(text);
    } catch {
      return text; // a server that labels non-JSON as JSON: keep what it said rather than fail
    }
  }
  return text;
}
