import { policyDocument, policyRefuses, policyText } from '../http/route-policy.js';
import type { Route } from '../http/routes.js';

/**
 * The OpenAPI 3.1 description of every route the server answers, served at
 * `GET /openapi.json`. A test checks that each registered route appears here, so the
 * document cannot fall behind the server. Each operation carries its route's policy — who
 * may call — as `x-tessera-policy` and in words in its description, taken from the route
 * itself, so the two cannot disagree.
 */

type Op = {
  summary: string;
  security?: 'any' | 'none';
  body?: Record<string, unknown>;
  responses: Record<string, string>;
  params?: string[];
};

const detail = { $ref: '#/components/schemas/Detail' };
const user = { $ref: '#/components/schemas/User' };

const loginBody = {
  type: 'object',
  required: ['username', 'password'],
  properties: { username: { type: 'string' }, password: { type: 'string' } },
};

const PATHS: Record<string, Record<string, Op>> = {
  '/': {
    get: {
      summary: 'A page for browsers (Accept: text/html) saying what this server is; 404 to every other client',
      security: 'none',
      responses: { 200: 'text/html', 404: 'not an HTML client' },
    },
  },
  '/healthz': {
    get: {
      summary: 'Readiness: 200 while serving, 503 while shutting down',
      security: 'none',
      responses: { 200: 'ok', 503: 'draining' },
    },
  },
  '/openapi.json': { get: { summary: 'This document', security: 'none', responses: { 200: 'OpenAPI 3.1' } } },
  '/authentication/login/': {
    post: {
      summary: 'Password login to a session; sets sessionid and csrftoken cookies',
      security: 'none',
      body: loginBody,
      responses: { 200: 'the user object', 400: 'invalid credentials or fields', 403: 'cross-site', 429: 'throttled' },
    },
  },
  '/authentication/whoami/': {
    get: { summary: 'The signed-in user', responses: { 200: 'the user object', 401: 'not signed in' } },
  },
  '/authentication/logout/': {
    post: { summary: 'End the session server-side', responses: { 200: 'logged out', 403: 'CSRF failed' } },
  },
  '/users/users/': {
    get: { summary: 'List users', responses: { 200: 'users' } },
    post: {
      summary: 'Create a user (admin)',
      body: { type: 'object', required: ['username', 'password'] },
      responses: { 201: 'created', 400: 'invalid', 403: 'not admin' },
    },
  },
  '/users/users/{id}/': {
    get: { summary: 'One user', params: ['id'], responses: { 200: 'the user', 404: 'no such user' } },
    patch: {
      summary: 'Update (self or admin; roles and is_active admin only)',
      params: ['id'],
      responses: { 200: 'updated', 400: 'invalid', 403: 'forbidden' },
    },
    put: { summary: 'Same as PATCH', params: ['id'], responses: { 200: 'updated', 400: 'invalid', 403: 'forbidden' } },
    delete: { summary: 'Delete (admin)', params: ['id'], responses: { 204: 'deleted', 403: 'not admin' } },
  },
  '/api-token-auth/': {
    post: {
      summary: "DRF: exchange username and password for the user's token",
      security: 'none',
      body: loginBody,
      responses: { 200: '{"token": "<40 hex>"}', 400: 'invalid', 429: 'throttled' },
    },
  },
  '/api/whoami/': {
    get: { summary: 'DRF: the user of the token', responses: { 200: 'the user object', 401: 'invalid token' } },
  },
  '/api/logout/': { post: { summary: 'DRF: delete the token', responses: { 200: '{"username": null}' } } },
  '/api/method/frappe.core.doctype.user.user.generate_keys': {
    post: {
      summary: "Frappe: make a user's api key, or replace its secret (admin)",
      body: { type: 'object', required: ['user'], properties: { user: { type: 'string' } } },
      responses: { 200: '{"message": {"api_key", "api_secret"}}', 403: 'not admin', 404: 'no such user' },
    },
  },
  '/api/method/frappe.auth.get_logged_user': {
    get: { summary: 'Frappe: the username', responses: { 200: '{"message": "<username>"}' } },
    post: { summary: 'Frappe: the username', responses: { 200: '{"message": "<username>"}' } },
  },
  '/api/method/login': {
    post: {
      summary: 'Frappe: password login (usr, pwd) to a session',
      security: 'none',
      body: { type: 'object', required: ['usr', 'pwd'] },
      responses: { 200: '{"message": "Logged In"}', 401: 'invalid' },
    },
  },
  '/api/method/logout': { post: { summary: 'Frappe: end the session', responses: { 200: '{"message": null}' } } },
  '/v1/me': { get: { summary: 'The principal: user, credential and scopes', responses: { 200: 'principal' } } },
  '/v1/credentials': {
    get: { summary: 'My credentials (admin: ?user=<id>), never their secrets', responses: { 200: 'credentials' } },
    post: {
      summary: 'Make a personal token (shown once)',
      body: {
        type: 'object',
        required: ['name'],
        properties: {
          name: { type: 'string', maxLength: 100 },
          expires_in: {
            oneOf: [
              { type: 'integer', description: 'seconds' },
              { type: 'string', example: '30d' },
            ],
          },
          scopes: { type: 'array', items: { type: 'string' } },
          user: { type: 'integer', description: 'admin only: make it for this user' },
        },
      },
      responses: { 201: 'the credential with its token', 400: 'invalid', 403: 'scopes beyond the caller' },
    },
  },
  '/v1/token': {
    post: {
      summary: 'Exchange the request credential (not a JWT) for a short-lived EdDSA JWT',
      responses: { 200: '{"access_token", "token_type": "Bearer", "expires_in"}', 403: 'a JWT cannot buy another' },
    },
  },
  '/v1/token/revoke': {
    post: {
      summary: "Put a JWT's jti on the deny-list until it expires (owner or admin)",
      body: { type: 'object', required: ['token'], properties: { token: { type: 'string' } } },
      responses: { 204: 'revoked', 400: 'not a valid token', 404: 'not yours' },
    },
  },
  '/v1/introspect': {
    post: {
      summary:
        'RFC 7662 introspection of an Authorization value (caller needs the introspect scope) → {active, sub, username, scope, exp, kind, roles}',
      body: { type: 'object', required: ['token'], properties: { token: { type: 'string' } } },
      responses: {
        200: '{"active": true, …} or {"active": false}',
        400: 'no token',
        403: 'lacks the introspect scope',
      },
    },
  },
  '/v1/audit': {
    get: {
      summary:
        'The audit log, newest first (admin; a scoped credential needs the audit scope). Query: event (comma-separated), user, actor, subject, since, until (ISO 8601 or epoch ms), limit (1-1000, default 100), before (id cursor) → {entries: [{id, at, event, actor_id, subject_id, client_address, detail}], next}',
      responses: { 200: '{entries, next}', 400: 'a malformed filter', 403: 'not an admin, or lacks the audit scope' },
    },
  },
  '/.well-known/jwks.json': {
    get: {
      summary: 'Public keys that verify Tessera JWTs and Conjur tokens (RFC 7517)',
      security: 'none',
      responses: { 200: 'JWK Set' },
    },
  },
  '/api/authn/users/login': {
    get: {
      summary: 'Conjur: Basic login:password (or API key) → the API key, text/plain',
      security: 'none',
      responses: { 200: 'API key', 401: 'empty body' },
    },
  },
  '/api/authn/users/{login}/authenticate': {
    post: {
      summary: 'Conjur: the API key as the raw body → a signed token (Accept-Encoding: base64 for it encoded)',
      security: 'none',
      params: ['login'],
      responses: { 200: '{"data", "timestamp", "signature", "key"}', 401: 'empty body' },
    },
  },
  '/api/authn/users/api_key': {
    put: {
      summary: 'Conjur: rotate the API key (Basic login:password or login:api_key)',
      security: 'none',
      responses: { 200: 'the new API key', 401: 'empty body' },
    },
  },
  '/api/authn/whoami': {
    get: { summary: 'Conjur: who the token belongs to', responses: { 200: '{"username", "account", …}' } },
  },
  '/whoami': {
    get: { summary: 'Conjur v5: who the token belongs to', responses: { 200: '{"username", "account", …}' } },
  },
  '/authn/{account}/login': {
    get: {
      summary: 'Conjur v5 login for a configured account',
      security: 'none',
      params: ['account'],
      responses: { 200: 'API key', 401: 'empty body' },
    },
  },
  '/authn/{account}/{login}/authenticate': {
    post: {
      summary: 'Conjur v5 authenticate',
      security: 'none',
      params: ['account', 'login'],
      responses: { 200: 'token', 401: 'empty body' },
    },
  },
  '/authn/{account}/api_key': {
    put: {
      summary: 'Conjur v5 API key rotation',
      security: 'none',
      params: ['account'],
      responses: { 200: 'the new API key', 401: 'empty body' },
    },
  },
  '/v1/credentials/{id}': {
    delete: {
      summary: 'Revoke a credential',
      params: ['id'],
      responses: { 204: 'revoked', 404: 'not yours or missing' },
    },
  },
};

/** The route that answers a documented path and method (`/users/users/{id}/` → `/users/users/:id`). */
export function routeFor(routes: readonly Route[], path: string, method: string): Route | undefined {
  const routePath = path.replace(/\{([^}]+)\}/g, ':$1').replace(/(.)\/$/, '$1');
  return routes.find(
    (route) => route.path === routePath && (route.methods as readonly string[]).includes(method.toUpperCase()),
  );
}

/** The document for these routes; the server builds it once. */
export function openApiDocument(routes: readonly Route[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [path, ops] of Object.entries(PATHS)) {
    paths[path] = {};
    for (const [method, op] of Object.entries(ops)) {
      const policy = routeFor(routes, path, method)?.policy;
      const responses: Record<string, unknown> = {};
      for (const [status, description] of Object.entries(op.responses)) {
        responses[status] =
          description === 'text/html'
            ? { description: 'an HTML page', content: { 'text/html': { schema: { type: 'string' } } } }
            : {
                description,
                content: {
                  'application/json': {
                    schema: status.startsWith('2') && op.summary.includes('user object') ? user : detail,
                  },
                },
              };
      }
      if (policy && policyRefuses(policy)) {
        responses['403'] ??= {
          description: 'refused by the route policy',
          content: { 'application/json': { schema: detail } },
        };
      }
      if (op.security !== 'none')
        responses['401'] ??= {
          description: 'no valid credential',
          content: { 'application/json': { schema: detail } },
        };
      (paths[path] as Record<string, unknown>)[method] = {
        summary: op.summary,
        ...(policy && { description: policyText(policy), 'x-tessera-policy': policyDocument(policy) }),
        ...(op.security === 'none' && { security: [] }),
        ...(op.params && {
          parameters: op.params.map((name) => ({
            name,
            in: 'path',
            required: true,
            schema: { type: name === 'id' ? 'integer' : 'string' },
          })),
        }),
        ...(op.body && {
          requestBody: {
            required: true,
            content: {
              'application/json': { schema: op.body },
              'application/x-www-form-urlencoded': { schema: op.body },
            },
          },
        }),
        responses,
      };
    }
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Tessera',
      version: '0.1.0',
      description:
        'Authentication server: sessions, DRF tokens, Frappe keys, HTTP Basic, personal tokens, Conjur tokens, JWTs.',
    },
    paths,
    security: [
      { session: [] },
      { drfToken: [] },
      { frappeToken: [] },
      { basic: [] },
      { personalToken: [] },
      { conjurToken: [] },
      { jwt: [] },
    ],
    components: {
      securitySchemes: {
        session: {
          type: 'apiKey',
          in: 'cookie',
          name: 'sessionid',
          description: 'unsafe methods also need X-CSRFToken',
        },
        drfToken: { type: 'apiKey', in: 'header', name: 'Authorization', description: 'Token <40-hex key>' },
        frappeToken: {
          type: 'apiKey',
          in: 'header',
          name: 'Authorization',
          description: 'token <api_key>:<api_secret>',
        },
        basic: { type: 'http', scheme: 'basic', description: 'username:password, or api_key:api_secret' },
        personalToken: { type: 'http', scheme: 'bearer', description: 'tsr_… personal token' },
        conjurToken: {
          type: 'apiKey',
          in: 'header',
          name: 'Authorization',
          description: 'Token token="<base64 Conjur token>"',
        },
        jwt: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'EdDSA JWT from POST /v1/token' },
      },
      schemas: {
        Detail: { type: 'object', properties: { detail: { type: 'string' } } },
        User: {
          type: 'object',
          properties: {
            id: { type: 'integer' },
            username: { type: 'string' },
            email: { type: 'string' },
            is_active: { type: 'boolean' },
            is_staff: { type: 'boolean' },
            roles: { type: 'array', items: { type: 'string' } },
            date_joined: { type: 'string', format: 'date-time' },
            last_login: { type: ['string', 'null'], format: 'date-time' },
          },
        },
      },
    },
  };
}
