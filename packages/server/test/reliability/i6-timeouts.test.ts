import { connect } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHttpServer, type TesseraServer } from '../../src/http/server.js';
import { startServer, type TestServer } from '../helpers/harness.js';

/** What a socket saw: everything the server sent, and when it closed (ms after connecting). */
interface Ending {
  received: string;
  closedAfterMs: number;
}

/**
 * Connects, sends `opening`, then one more byte of `drip` every `dripMs` (a slow client), until
 * the server closes the socket or `giveUpMs` passes.
 */
function slowClient(port: number, opening: string, options: { drip?: string; dripMs?: number; giveUpMs: number }) {
  return new Promise<Ending>((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const openedAt = performance.now();
    let received = '';
    let drip: NodeJS.Timeout | undefined;
    const giveUp = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept a slow client for ${options.giveUpMs} ms; it sent: ${received}`));
    }, options.giveUpMs);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received += chunk;
    });
    socket.on('connect', () => {
      socket.write(opening);
      const bytes = options.drip ?? '';
      let at = 0;
      if (bytes.length > 0) {
        drip = setInterval(() => {
          if (!socket.destroyed) socket.write(bytes[at++ % bytes.length] ?? 'x');
        }, options.dripMs ?? 200);
      }
    });
    socket.on('error', () => undefined); // a reset is an ending too; 'close' follows
    socket.on('close', () => {
      clearTimeout(giveUp);
      clearInterval(drip);
      resolve({ received, closedAfterMs: performance.now() - openedAt });
    });
  });
}

describe('SECURITY I6: header, request and keep-alive timeouts', () => {
  let server: TestServer;
  let http: TesseraServer;
  let port: number;
  // Small limits on a second listener over the same core, so each case ends in seconds.
  const HEADERS_MS = 1000;
  const REQUEST_MS = 2000;
  const KEEP_ALIVE_MS = 1000;

  beforeEach(async () => {
    server = await startServer('sqlite');
    http = createHttpServer(server.tessera);
    http.server.headersTimeout = HEADERS_MS;
    http.server.requestTimeout = REQUEST_MS;
    http.server.keepAliveTimeout = KEEP_ALIVE_MS;
    port = (await http.listen(0, '127.0.0.1')).port;
  });
  afterEach(async () => {
    http.server.closeAllConnections();
    await new Promise<void>((resolve) => http.server.close(() => resolve()));
    await server.close();
  });

  it('builds its server with a 10 s header, 30 s request and 5 s keep-alive timeout', () => {
    const built = createHttpServer(server.tessera).server;
    expect(built.headersTimeout).toBe(10_000);
    expect(built.requestTimeout).toBe(30_000);
    expect(built.keepAliveTimeout).toBe(5_000);
    expect(built.timeout).toBe(60_000);
  });

  it('cuts off a client that sends its headers a byte at a time once the header timeout passes, with 408', async () => {
    const ending = await slowClient(port, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ', {
      drip: 'abcdefgh',
      dripMs: 100,
      giveUpMs: HEADERS_MS + 5000,
    });
    expect(ending.received).toMatch(/^HTTP\/1\.1 408 /);
    expect(ending.closedAfterMs).toBeGreaterThanOrEqual(HEADERS_MS - 50);
    // Node checks its timers once per connectionsCheckingInterval: the cut comes within one more second.
    expect(ending.closedAfterMs).toBeLessThan(HEADERS_MS + 2500);
  });

  it('cuts off a request whose body never finishes once the request timeout passes, with 408', async () => {
    const ending = await slowClient(
      port,
      'POST /authentication/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
        'Content-Length: 1000\r\n\r\n{"username": "',
      { drip: 'abcdefgh', dripMs: 100, giveUpMs: REQUEST_MS + 5000 },
    );
    expect(ending.received).toMatch(/^HTTP\/1\.1 408 /);
    expect(ending.closedAfterMs).toBeGreaterThanOrEqual(REQUEST_MS - 50);
    expect(ending.closedAfterMs).toBeLessThan(REQUEST_MS + 2500);
  });

  it('closes a kept-alive connection left idle once the keep-alive timeout passes', async () => {
    const ending = await slowClient(port, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', {
      giveUpMs: KEEP_ALIVE_MS + 5000,
    });
    expect(ending.received).toMatch(/^HTTP\/1\.1 200 /);
    expect(ending.received).toMatch(/\r\nKeep-Alive: timeout=1\r\n/i);
    expect(ending.closedAfterMs).toBeGreaterThanOrEqual(KEEP_ALIVE_MS - 50);
    expect(ending.closedAfterMs).toBeLessThan(KEEP_ALIVE_MS + 2500);
  });
});
