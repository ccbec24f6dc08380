import { createServer, type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import FindMyWay, { type HTTPMethod } from 'find-my-way';
import pino, { type Logger } from 'pino';
import { auditRoutes } from '../dialects/audit.js';
import { conjurRoutes } from '../dialects/conjur.js';
import { drfRoutes } from '../dialects/drf.js';
import { frappeRoutes } from '../dialects/frappe.js';
import { introspectionRoutes } from '../dialects/introspection.js';
import { nativeRoutes } from '../dialects/native.js';
import { openApiDocument } from '../dialects/openapi.js';
import { sessionRoutes } from '../dialects/session.js';
import { usersRoutes } from '../dialects/users.js';
import { isTesseraError } from '../errors.js';
import type { Tessera } from '../tessera.js';
import { clientAddress, isSecure } from './client-address.js';
import { RequestContext } from './context.js';
import { browserCredentialRefusal } from './cross-site.js';
import { homePageRoute } from './home-page.js';
import { refuseForeignHost, startHostRule } from './host-allow-list.js';
import { detail, HttpError, throttled } from './http-error.js';
import { prettyDestination } from './pretty-log.js';
import { enforceRoutePolicy, PUBLIC } from './route-policy.js';
import type { Method, Reply, Route } from './routes.js';

export interface HttpServerOptions {
  /** A logger; by default pino on stdout at the configured level. */
  logger?: Logger;
}

/** A running (or ready to run) Tessera HTTP server. */
export interface TesseraServer {
  readonly server: Server;
  readonly logger: Logger;
  /** Listens on the configured host and port (or the given ones); resolves with the bound address. */
  listen(port?: number, host?: string): Promise<AddressInfo>;
  /**
   * Graceful stop (SECURITY I4): readiness turns 503 at once and every answer closes its
   * connection; while requests are in flight (for at most the grace period) the port still
   * answers, so probes read that 503; then the listener closes and what is left is cut.
   */
  close(): Promise<void>;
}

const ALL_METHODS: readonly Method[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

/**
 * Builds the HTTP server over an opened core: node:http plus find-my-way routing. No web
 * framework sits between the socket and `authenticate()`, because every API call pays for
 * whatever does (DESIGN performance targets).
 */
export function createHttpServer(tessera: Tessera, options: HttpServerOptions = {}): TesseraServer {
  const { config } = tessera;
  // A line per request would be a write(2) per request: lines gather up to 4 KiB, and go out
  // at least once a second, and at exit (pino flushes its destination then).
  // A person at a terminal reads lines, not JSON; anything else (a pipe, a file, a log
  // collector) gets pino's JSON lines.
  const logger =
    options.logger ??
    pino(
      { level: config.logLevel, base: null },
      process.stdout.isTTY
        ? prettyDestination(process.stdout)
        : pino.destination({ sync: false, minLength: 4096, periodicFlush: 1000 }),
    );
  const trustedProxies = new Set(config.trustedProxies);
  let draining = false;

  const router = FindMyWay({
    ignoreTrailingSlash: true,
    ignoreDuplicateSlashes: true,
    caseSensitive: true,
    maxParamLength: 200,
  });
  const routes = serverRoutes(() => draining);
  const noop = () => undefined;
  const hosts = startHostRule(config.allowedHosts);
  for (const route of routes) router.on(route.methods as HTTPMethod[], route.path, noop, route);

  /** Requests not yet answered, and who waits for their number to reach zero (graceful stop). */
  let inFlight = 0;
  let onIdle: (() => void) | undefined;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    inFlight++;
    const address = clientAddress(req, trustedProxies);
    // One listener for both jobs: 'close' follows 'finish' for every answered request.
    res.once('close', () => {
      // Answered requests only, path only: a query string may hold a secret put there by mistake.
      if (res.writableFinished) {
        logger.info({
          method: req.method,
          path: (req.url ?? '').split('?')[0]?.slice(0, 512),
          status: res.statusCode,
          ms: Math.round((performance.now() - started) * 100) / 100,
          ip: address,
        });
      }
      if (--inFlight === 0) onIdle?.();
    });

    try {
      const repeated = repeatedHeaders(req.rawHeaders);
      // node:http keeps the first of several Host headers; the CSRF origin check reads Host,
      // so an ambiguous one is refused as RFC 9112 3.2 requires.
      if (repeated & SEVERAL_HOSTS) throw detail(400, 'Send exactly one Host header.');
      // HEAD is GET without the body (RFC 9110 9.3.2); node:http leaves the body out itself.
      const method = (req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET')) as Method;
      const found = ALL_METHODS.includes(method) ? router.find(method as HTTPMethod, req.url ?? '/') : null;
      // Load balancers probe /healthz by IP address, and it tells a rebinding page nothing.
      if ((found?.store as Route | undefined)?.path !== '/healthz') refuseForeignHost(req, hosts.rule(server));
      if (!found) {
        const path = req.url ?? '/';
        const allowed = ALL_METHODS.filter((m) => router.find(m as HTTPMethod, path));
        if (allowed.length > 0) {
          throw detail(405, `Method "${String(req.method).slice(0, 20)}" not allowed.`, { Allow: allowed.join(', ') });
        }
        throw detail(404, 'Not found.');
      }
      const route = found.store as Route;
      const ctx = new RequestContext(
        tessera,
        req,
        res,
        found.params,
        found.searchParams,
        address,
        isSecure(req, trustedProxies),
      );
      if (route.auth === 'required') {
        const result = await tessera.authenticator.authenticate({
          headers: req.headers,
          // node keeps only the first Authorization header; the scan above saw whether there
          // were more. headersDistinct is a getter node builds afresh on every read.
          ...(repeated & SEVERAL_AUTHORIZATIONS && { headersDistinct: req.headersDistinct }),
          clientAddress: address,
        });
        if (!result.ok) {
          if (result.code === 'THROTTLED') throw throttled(result.retryAfterSeconds ?? 60);
          throw detail(401, result.message, { 'WWW-Authenticate': result.challenge });
        }
        ctx.principal = result.principal;
        const { scopes } = result.principal;
        if (route.scope !== undefined && scopes !== null && !scopes.includes(route.scope)) {
          throw detail(403, `This credential lacks the "${route.scope}" scope.`);
        }
        // Cookies and Basic credentials a browser attaches by itself: the same rule the
        // middleware's local mode applies (SECURITY D1, D4; http/cross-site.ts).
        const crossSite = browserCredentialRefusal(ctx, result.principal.csrfToken, {
          trustedOrigins: config.trustedOrigins,
          csrfHeaderName: config.session.csrfHeaderName,
        });
        if (crossSite) throw detail(403, crossSite.reason);
        // Who may call at all, after who is calling is known (issue 13 item 4).
        const stricter = enforceRoutePolicy(ctx, route.policy);
        if (stricter) await stricter;
      }
      // `draining` is read when the answer goes out, not when the request came.
      send(res, await route.handler(ctx), draining);
    } catch (error) {
      sendError(res, error, logger, draining);
    }
  }

  const server = createServer(
    {
      requestTimeout: 30_000,
      headersTimeout: 10_000,
      keepAliveTimeout: 5_000,
      // Node enforces the two timeouts above only when it sweeps its connections, every 30 s by
      // default: a slow-loris client would hold its socket for up to 40 s instead of 10.
      connectionsCheckingInterval: 1_000,
    },
    (req, res) => {
      void handle(req, res);
    },
  );
  // Sockets idle past these get closed instead of being held open by a slow client (SECURITY I6).
  server.timeout = 60_000;
  server.on('clientError', answerClientError);

  return {
    server,
    logger,
    listen(port = config.port, host = config.host) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const warning = hosts.bind(server);
          if (warning) logger.warn(warning);
          resolve(server.address() as AddressInfo);
        });
      });
    },
    async close() {
      draining = true;
      server.closeIdleConnections();
      // The listener stays open while requests are in flight, so a load balancer's readiness
      // probe reads 503 rather than a refused connection, and stops sending traffic here.
      let timer: NodeJS.Timeout | undefined;
      if (inFlight > 0) {
        await new Promise<void>((resolve) => {
          onIdle = resolve;
          timer = setTimeout(resolve, config.shutdownGraceMs);
        });
      }
      clearTimeout(timer);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // What is left is idle, half-sent, or past the grace period.
      server.closeAllConnections();
      await closed;
      logger.flush?.();
    },
  };
}

/**
 * Every route the server answers, in one list: the server registers it, `/openapi.json`
 * documents it, and the README's security model is generated from its policies.
 */
export function serverRoutes(isDraining: () => boolean = () => false): Route[] {
  const routes: Route[] = [
    {
      methods: ['GET'],
      path: '/healthz',
      auth: 'none',
      policy: PUBLIC,
      handler: async () => (isDraining() ? { status: 503, body: { status: 'draining' } } : { body: { status: 'ok' } }),
    },
    {
      methods: ['GET'],
      path: '/openapi.json',
      auth: 'none',
      policy: PUBLIC,
      handler: async () => ({ body: document }),
    },
    ...sessionRoutes(),
    ...usersRoutes(),
    ...drfRoutes(),
    ...frappeRoutes(),
    ...nativeRoutes(),
    ...introspectionRoutes(),
    ...auditRoutes(),
    ...conjurRoutes(),
    homePageRoute(),
  ];
  const document = openApiDocument(routes);
  return routes;
}

/** Sent with every answer, whatever its kind; written in one go with the rest by writeHead. */
const ALWAYS = {
  'X-Content-Type-Options': 'nosniff',
  // Responses here carry credentials or facts about them; no cache may keep one (SECURITY C7).
  'Cache-Control': 'no-store',
};

/**
 * Serialised bodies of frozen replies (the public user view is one, built once per cached
 * user): a repeated whoami then costs no JSON.stringify and no byte count.
 */
const serialised = new WeakMap<object, { json: string; length: number }>();

function serialise(body: unknown): { json: string; length: number } {
  const frozen = typeof body === 'object' && body !== null && Object.isFrozen(body);
  const known = frozen ? serialised.get(body) : undefined;
  if (known) return known;
  const json = JSON.stringify(body);
  const made = { json, length: Buffer.byteLength(json) };
  if (frozen) serialised.set(body as object, made);
  return made;
}

/**
 * Writes the whole answer with one writeHead and no setHeader: node then builds the header
 * block straight from one object, and with a known length sends header and body in one write.
 */
function send(res: ServerResponse, reply: Reply, draining: boolean): void {
  const headers: Record<string, string | number | string[]> = { ...ALWAYS, ...reply.headers };
  if (reply.cookies?.length) headers['Set-Cookie'] = reply.cookies;
  if (draining) headers.Connection = 'close';
  if (reply.text !== undefined) {
    headers['Content-Type'] ??= 'text/plain; charset=utf-8';
    headers['Content-Length'] = Buffer.byteLength(reply.text);
    res.writeHead(reply.status ?? 200, headers);
    res.end(reply.text);
  } else if (reply.body !== undefined) {
    const { json, length } = serialise(reply.body);
    headers['Content-Type'] = 'application/json';
    headers['Content-Length'] = length;
    res.writeHead(reply.status ?? 200, headers);
    res.end(json);
  } else {
    res.writeHead(reply.status ?? 204, headers);
    res.end();
  }
}

const SEVERAL_HOSTS = 1;
const SEVERAL_AUTHORIZATIONS = 2;

/**
 * Which of Host and Authorization the raw header list names more than once, as bits: one
 * pass over it, where node's headersDistinct would build an object of every header.
 */
function repeatedHeaders(raw: string[]): number {
  let hosts = 0;
  let authorizations = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === 4 && name.toLowerCase() === 'host') hosts++;
    else if (name.length === 13 && name.toLowerCase() === 'authorization') authorizations++;
  }
  return (hosts > 1 ? SEVERAL_HOSTS : 0) | (authorizations > 1 ? SEVERAL_AUTHORIZATIONS : 0);
}

function sendError(res: ServerResponse, error: unknown, logger: Logger, draining: boolean): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (error instanceof HttpError) {
    send(res, { status: error.status, body: error.body, headers: { ...error.headers } }, draining);
    return;
  }
  if (isTesseraError(error, 'HASHER_BUSY')) {
    send(
      res,
      {
        status: 503,
        body: { detail: 'The server is busy; try again shortly.' },
        headers: { 'Retry-After': '1' },
      },
      draining,
    );
    return;
  }
  // An unexpected failure: a generic answer, the details only in the log (SECURITY G4).
  logger.error({ err: error }, 'unhandled error');
  send(res, { status: 500, body: { detail: 'Internal server error.' } }, draining);
}

/**
 * A request node's parser refused (a NUL or bare CR in a header, a malformed request line,
 * headers past the limit, a timeout) gets the JSON error body every other refusal has, not
 * node's bare status line: a client must be able to read why (issue 8, found by fuzzing).
 * There is no response object at this point, so the answer is written to the socket itself.
 */
function answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
  // A response already under way on this connection cannot be followed by another.
  const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const body = JSON.stringify({
    detail: status === 431 ? 'Request header fields too large.' : status === 408 ? 'Request timeout.' : 'Bad request.',
  });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nX-Content-Type-Options: nosniff\r\n` +
      `Cache-Control: no-store\r\nConnection: close\r\n\r\n${body}`,
  );
}
