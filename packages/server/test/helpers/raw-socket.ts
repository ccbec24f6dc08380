import { connect } from 'node:net';

/** An HTTP/1.1 response read off a socket: every header line as sent, and the body. */
export interface SocketResponse {
  status: number;
  /** Header lines in order, names lower-cased; a repeated header appears once per line. */
  headers: Array<[string, string]>;
  /** The first value of a header, if any. */
  header(name: string): string | undefined;
  body: string;
}

/**
 * Sends `GET path` with exactly the header lines given — repeated names, raw UTF-8 bytes and
 * all — over a plain TCP connection, for what `fetch` and `node:http` will not send (they merge
 * or refuse such headers). The request asks for `Connection: close`, so the response ends with
 * the socket.
 */
export function sendRawRequest(
  url: string,
  headerLines: Array<string | Buffer>,
  options: { method?: string; path?: string; timeoutMs?: number } = {},
): Promise<SocketResponse> {
  const { hostname, port } = new URL(url);
  const head = Buffer.concat([
    Buffer.from(`${options.method ?? 'GET'} ${options.path ?? '/'} HTTP/1.1\r\nHost: ${hostname}:${port}\r\n`),
    ...headerLines.map((line) => Buffer.concat([typeof line === 'string' ? Buffer.from(line) : line, CRLF])),
    Buffer.from('Connection: close\r\n\r\n'),
  ]);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete response within ${options.timeoutMs ?? 10_000} ms`));
    }, options.timeoutMs ?? 10_000);
    socket.on('connect', () => socket.write(head));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      try {
        resolve(parseResponse(Buffer.concat(chunks)));
      } catch (error) {
        reject(error);
      }
    });
  });
}

const CRLF = Buffer.from('\r\n');

function parseResponse(raw: Buffer): SocketResponse {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) throw new Error(`no complete response head in ${JSON.stringify(raw.toString('latin1'))}`);
  const [statusLine = '', ...lines] = raw.subarray(0, end).toString('latin1').split('\r\n');
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
  if (!match) throw new Error(`not an HTTP status line: ${statusLine}`);
  const headers = lines.map((line): [string, string] => {
    const colon = line.indexOf(':');
    return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()];
  });
  const header = (name: string) => headers.find(([n]) => n === name.toLowerCase())?.[1];
  let body = raw.subarray(end + 4);
  if (header('transfer-encoding')?.toLowerCase() === 'chunked') body = dechunk(body);
  return { status: Number(match[1]), headers, header, body: body.toString('utf8') };
}

/** Decodes a chunked body (RFC 9112 7.1); trailers are ignored. */
function dechunk(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = body.indexOf('\r\n', at);
    if (lineEnd < 0) throw new Error('truncated chunked body');
    const size = Number.parseInt(body.subarray(at, lineEnd).toString('latin1').split(';')[0] ?? '', 16);
    if (!Number.isInteger(size)) throw new Error('bad chunk size');
    if (size === 0) return Buffer.concat(parts);
    parts.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
}
