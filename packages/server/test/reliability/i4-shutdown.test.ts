import { connect, type Socket } from 'node:net';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { type DatabaseKind, describeEachDatabase, PASSWORD } from '../helpers/harness.js';
import { createUserByCli, type ServeBed, serveBed } from '../helpers/serve-bed.js';

const GRACE_MS = 3000;

/** A login whose body is sent in two halves, so it stays in flight until the test sends the rest. */
function halfSentLogin(url: string): { socket: Socket; finish(): void; answer: Promise<string> } {
  const { port } = new URL(url);
  const body = JSON.stringify({ username: 'alice', password: PASSWORD });
  const half = Math.floor(body.length / 2);
  const socket = connect({ host: '127.0.0.1', port: Number(port) });
  socket.write(
    `POST /authentication/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, half)}`,
  );
  let received = '';
  socket.setEncoding('utf8').on('data', (chunk: string) => {
    received += chunk;
  });
  const answer = new Promise<string>((resolve, reject) => {
    socket.on('close', () => resolve(received));
    socket.on('error', reject);
  });
  return { socket, finish: () => socket.write(body.slice(half)), answer };
}

/** Polls `GET /healthz` until `accept` holds for its status (or a refused connection, as 0). */
async function healthUntil(url: string, accept: (status: number) => boolean, timeoutMs: number): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const status = await fetch(`${url}/healthz`).then(
      async (r) => {
        await r.arrayBuffer();
        return r.status;
      },
      () => 0,
    );
    if (accept(status) || performance.now() > deadline) return status;
  }
}

describeEachDatabase('SECURITY I4: graceful shutdown of tessera serve', (kind: DatabaseKind) => {
  let bed: ServeBed;
  beforeEach(async () => {
    bed = await serveBed(kind, { TESSERA_SHUTDOWN_GRACE: `${GRACE_MS}ms` });
  });
  afterEach(() => bed.dispose());

  it('answers readiness with 503 while draining, finishes the in-flight login, then exits 0 within the grace period', async () => {
    await createUserByCli(bed, 'alice');
    const serve = await bed.serve();
    const login = halfSentLogin(serve.url);
    await new Promise<void>((resolve) => login.socket.once('connect', resolve));
    // A probe answered after the login's head was sent: the server has read that head by now.
    expect(await healthUntil(serve.url, (s) => s === 200, 5000)).toBe(200);

    const signalledAt = performance.now();
    serve.child.kill('SIGTERM');
    expect(await healthUntil(serve.url, (s) => s === 503, GRACE_MS)).toBe(503);

    login.finish();
    const answer = await login.answer;
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(answer).toMatch(/\r\nconnection: close\r\n/i);
    expect(answer).toMatch(/\r\nset-cookie: sessionid=/i);

    expect(await serve.exited(GRACE_MS + 2000)).toEqual({ code: 0, signal: null });
    const shutdownMs = performance.now() - signalledAt;
    console.log(`I4: SIGTERM → exit 0 in ${Math.round(shutdownMs)} ms with one in-flight login (grace ${GRACE_MS} ms)`);
    expect(shutdownMs).toBeLessThan(GRACE_MS);
    expect(serve.stderr()).toBe('');
  });

  it('cuts a request still unfinished when the grace period ends, and exits 0 right after', async () => {
    const serve = await bed.serve();
    const stuck = halfSentLogin(serve.url);
    await new Promise<void>((resolve) => stuck.socket.once('connect', resolve));
    // A probe answered after the stuck request's head was sent: the server has read that head by now.
    expect(await healthUntil(serve.url, (s) => s === 200, 5000)).toBe(200);

    const signalledAt = performance.now();
    serve.child.kill('SIGTERM');
    expect(await serve.exited(GRACE_MS + 3000)).toEqual({ code: 0, signal: null });
    const shutdownMs = performance.now() - signalledAt;
    console.log(`I4: SIGTERM → exit 0 in ${Math.round(shutdownMs)} ms with a stuck request (grace ${GRACE_MS} ms)`);
    expect(shutdownMs).toBeGreaterThanOrEqual(GRACE_MS - 100);
    expect(shutdownMs).toBeLessThan(GRACE_MS + 3000);
    expect(await stuck.answer).toBe('');
  });

  it('exits 0 without waiting out the grace period when nothing is in flight, and the port is closed', async () => {
    const serve = await bed.serve();
    const signalledAt = performance.now();
    serve.child.kill('SIGTERM');
    expect(await serve.exited(GRACE_MS + 2000)).toEqual({ code: 0, signal: null });
    expect(performance.now() - signalledAt).toBeLessThan(GRACE_MS);
    expect(await healthUntil(serve.url, () => true, 0)).toBe(0);
  });
});
