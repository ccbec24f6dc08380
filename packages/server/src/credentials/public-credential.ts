import type { CredentialInfo } from './credential-store.js';

/**
 * A credential as the API and the CLI show it: snake_case, ISO times, never a secret, a
 * digest or a sealed copy.
 */
export function publicCredential(info: CredentialInfo): Record<string, unknown> {
  return {
    id: info.id,
    kind: info.kind,
    name: info.name,
    prefix: info.prefix,
    scopes: info.scopes,
    created_at: iso(info.createdAt),
    last_used_at: iso(info.lastUsedAt),
    expires_at: iso(info.expiresAt),
  };
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}
