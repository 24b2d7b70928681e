import type { Tenant, User, UserIdentity } from './entities.js';

/**
 * Users as Microsoft Graph (and so B2C) shows them: the names B2C back offices, API connectors and
 * exports use. Written once here; the Graph API, import, export, the CLI and connectors build on it.
 */
export interface GraphIdentity {
  signInType: string;
  issuer: string;
  issuerAssignedId: string;
}

/** B2C's built-in user attributes that Graph has as properties of their own. */
export const BUILTIN_ATTRIBUTES = ['country', 'city', 'state', 'postalCode', 'streetAddress', 'jobTitle'] as const;

/** `extension_<b2c-extensions-app id without hyphens>_<name>`: a custom attribute in Graph's name. */
export const EXTENSION_ATTRIBUTE = /^extension_([0-9a-f]{32})_([A-Za-z][A-Za-z0-9_]{0,99})$/i;

/** The id extension attributes are named by: the tenant's b2c-extensions-app, or its own id. */
export function extensionsAppIdOf(tenant: Tenant): string {
  return tenant.extensionsAppId ?? tenant.id.replace(/-/g, '');
}

/** The domain local accounts' identities name as their issuer (B2C's `{tenant}.onmicrosoft.com`). */
export function localIssuer(tenant: Tenant): string {
  return `${tenant.slug}.onmicrosoft.com`;
}

/**
 * A user's identities in Graph's shape: the local account as `emailAddress` or `userName` issued by
 * `{tenant}.onmicrosoft.com` (an email keeps the case it was given), each upstream account as `federated`.
 */
export function graphIdentities(tenant: Tenant, user: User, upstream: UserIdentity[]): GraphIdentity[] {
  const ids: GraphIdentity[] = [];
  if (user.signInName !== null && user.signInType !== null) {
    ids.push({ signInType: user.signInType, issuer: localIssuer(tenant), issuerAssignedId: user.signInType === 'emailAddress' && user.email ? user.email : user.signInName });
  }
  for (const i of upstream) ids.push({ signInType: 'federated', issuer: i.issuer, issuerAssignedId: i.issuerAssignedId });
  return ids;
}
