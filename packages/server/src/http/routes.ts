import type { RequestContext } from './context.js';
import type { RoutePolicy } from './route-policy.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** What a handler answers. JSON `body`, or `text` (plain unless `headers` name a Content-Type), or neither (204). */
export interface Reply {
  status?: number;
  body?: unknown;
  text?: string;
  headers?: Record<string, string>;
  /** `Set-Cookie` values. */
  cookies?: string[];
}

export interface Route {
  methods: readonly Method[];
  /** find-my-way syntax (`/users/users/:id`); a trailing slash is optional on every route. */
  path: string;
  /** `required`: the server authenticates (401) and checks CSRF for cookies (403) first. */
  auth: 'none' | 'required';
  /**
   * A credential limited by scopes needs this one to use the route; unlimited credentials
   * (sessions, passwords, unscoped tokens) always may.
   */
  scope?: string;
  /**
   * Who may call, required so that no route can be added without saying (issue 13 item 4):
   * which credential kinds, whether a session must have signed in recently, admins only, and
   * what lasting effect the route has. The server enforces it before the handler runs; the
   * OpenAPI document and the README's security model are drawn from it.
   */
  policy: RoutePolicy;
  handler: (ctx: RequestContext) => Promise<Reply>;
}
