import type { Store } from '../store/store.js';
import type { App } from '../model/entities.js';
import { OAuthError, B2C_CODES } from '../model/errors.js';
import { isGuest } from '../services/enterprise-apps.js';

export const OIDC_SCOPES = ['openid', 'offline_access', 'profile', 'email'] as const;
export type OidcScope = (typeof OIDC_SCOPES)[number];
const oidcSet: ReadonlySet<string> = new Set(OIDC_SCOPES);

/** A request's scopes after resolution against the tenant's registered APIs and the client's grants. */
export interface ResolvedScopes {
  oidc: OidcScope[];
  /** The API the access token is for, and the granted short scope names (B2C's `scp`). */
  api?: { clientId: string; identifierUri: string; scopes: string[] };
  /** The scope string to echo in the response and store with the grant. */
  granted: string[];
}

export function parseScope(scope: string | undefined): string[] {
  if (!scope) return [];
  return [...new Set(scope.split(/[ \t]+/).filter((s) => s.length > 0))];
}

/** `https://host/api/tasks.read` → identifier URI `https://host/api`, scope `tasks.read`. */
export function splitApiScope(scope: string): { identifierUri: string; name: string } | undefined {
  const slash = scope.lastIndexOf('/');
  if (slash <= 0 || slash === scope.length - 1 || !scope.includes(':')) return undefined;
  return { identifierUri: scope.slice(0, slash), name: scope.slice(slash + 1) };
}

/**
 * Whether the client may ask for an API scope in `tenantId`: granted to it (`app grant`), or, for a
 * multi-tenant app, declared among its permissions — the only way outside its home tenant, where the
 * user's or the administrator's consent then decides (services/consent.ts).
 */
async function mayAsk(store: Store, client: App, tenantId: string, api: App, identifierUri: string, name: string): Promise<boolean> {
  if (client.multiTenant) {
    const declared = (await store.listAppPermissions(client.clientId)).some((p) => p.kind === 'scope' && p.api === identifierUri && p.name === name);
    if (declared || isGuest(client, tenantId)) return declared;
  }
  return (await store.listGrants(client.clientId, api.clientId)).some((g) => g.kind === 'scope' && g.name === name);
}

/**
 * Resolves delegated scopes for a user-facing grant in `tenantId` (by default the client's own tenant).
 * The client's own id stands for "a token for myself" (B2C's form); API scopes must exist and be
 * granted to the client (or declared by a multi-tenant one); one API per request, as B2C has it; simple
 * scopes we do not know (e.g. `phone`) are ignored, as RFC 6749 §3.3 allows. A multi-tenant app's APIs
 * are its home tenant's, wherever it signs people in.
 */
export async function resolveDelegatedScopes(store: Store, client: App, requested: string[], tenantId: string = client.tenantId): Promise<ResolvedScopes> {
  const oidc: OidcScope[] = [];
  const granted: string[] = [];
  let api: ResolvedScopes['api'];
  let apiApp: App | undefined;
  for (const scope of requested) {
    if (oidcSet.has(scope)) {
      oidc.push(scope as OidcScope);
      granted.push(scope);
      continue;
    }
    if (scope === client.clientId) {
      granted.push(scope);
      continue;
    }
    const parts = splitApiScope(scope);
    if (!parts) continue;
    const target = apiApp && apiApp.identifierUri === parts.identifierUri ? apiApp : await store.findAppByIdentifierUri(client.tenantId, parts.identifierUri);
    if (!target) throw new OAuthError('invalid_scope', `The scope '${scope}' does not belong to any registered API.`, { b2cCode: B2C_CODES.unknownApplicationOrScope });
    if (apiApp && apiApp.clientId !== target.clientId) {
      throw new OAuthError('invalid_request', 'Scopes of more than one API were requested; a token is for one API.', { b2cCode: B2C_CODES.scopesOfSeveralApis });
    }
    apiApp = target;
    if (parts.name === '.default') {
      throw new OAuthError('invalid_scope', `'${scope}' is only for the client credentials grant.`);
    }
    const exposed = await store.listAppScopes(target.clientId);
    if (!exposed.includes(parts.name)) throw new OAuthError('invalid_scope', `The API does not expose the scope '${parts.name}'.`, { b2cCode: B2C_CODES.scopeNotExposed });
    // An app asks for the scopes it exposes itself without a grant (the token's `aud` is its own client id).
    if (target.clientId !== client.clientId && !(await mayAsk(store, client, tenantId, target, parts.identifierUri, parts.name))) {
      throw new OAuthError('invalid_scope', `The application has not been granted the scope '${scope}'.`, { b2cCode: B2C_CODES.scopeNotGranted });
    }
    api ??= { clientId: target.clientId, identifierUri: parts.identifierUri, scopes: [] };
    if (!api.scopes.includes(parts.name)) api.scopes.push(parts.name);
    granted.push(scope);
  }
  return { oidc, granted, ...(api ? { api } : {}) };
}
