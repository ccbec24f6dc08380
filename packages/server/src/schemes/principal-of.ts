import type { Principal } from '../auth/principal.js';
import type { FoundCredential } from '../credentials/credential-store.js';

/** The principal of a header credential found in the credentials table. */
export function principalOf(found: FoundCredential): Principal {
  return {
    user: found.user,
    credential: { kind: found.info.kind, id: found.info.id },
    scopes: found.info.scopes,
    csrfToken: null,
  };
}
