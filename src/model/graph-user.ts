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

/**
 * The domain local accounts' identities name as their issuer (B2C's `{tenant}.onmicrosoft.com`): the B2C
 * tenant's name when the tenant was given one (`tenant create --b2c-name`), else its slug.
 */
export function localIssuer(tenant: Pick<Tenant, 'slug' | 'b2cName'>): string {
  return `${tenant.b2cName ?? tenant.slug}.onmicrosoft.com`;
}

/** Every issuer that names the tenant's own local identities: its domain, the slug's domain, and its id (lower case). */
export function isLocalIssuer(tenant: Pick<Tenant, 'slug' | 'b2cName' | 'id'>, issuer: string): boolean {
  const i = issuer.trim().toLowerCase();
  return i === localIssuer(tenant) || i === `${tenant.slug}.onmicrosoft.com` || i === tenant.id;
}

/**
 * A user's identities in Graph's shape: each local identity (`emailAddress`, `userName`, `phoneNumber`)
 * issued by `{tenant}.onmicrosoft.com` as it was given, each upstream account as `federated`.
 */
export function graphIdentities(tenant: Pick<Tenant, 'slug' | 'b2cName'>, user: Pick<User, 'localIdentities'>, upstream: UserIdentity[]): GraphIdentity[] {
  const ids: GraphIdentity[] = [];
  for (const l of user.localIdentities) ids.push({ signInType: l.signInType, issuer: localIssuer(tenant), issuerAssignedId: l.issuerAssignedId });
  for (const i of upstream) ids.push({ signInType: 'federated', issuer: i.issuer, issuerAssignedId: i.issuerAssignedId });
  return ids;
}
