import type { RequestContext } from './context.js';

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
  handler: (ctx: RequestContext) => Promise<Reply>;
}
