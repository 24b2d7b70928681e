import { EMAIL } from '../model/patterns.js';
/**
 * The social identity providers Latchkey knows by name: their endpoints, scopes, the domain B2C
 * uses for them (the `idp` claim and the issuer of their identities), and how their answers map to
 * Latchkey's claims. Every value can be overridden in identity-providers.json.
 *
 * The subject claims follow B2C's technical profiles, so users moved from B2C keep their identities:
 * Google's and Facebook's `id`, Microsoft's `oid`, Apple's `sub`, GitHub's numeric `id`.
 */
export type PresetType = 'google' | 'microsoft' | 'apple' | 'github' | 'facebook';

export interface Preset {
  protocol: 'oidc' | 'oauth2';
  /** What `domain_hint` names it by (B2C's domain for it). */
  domain: string;
  /** The issuer B2C stores in its users' identities and emits as `idp`, when it is not the domain. */
  identityIssuer?: string;
  scopes: string[];
  claimMapping: Record<string, string>;
  discoveryUrl?: string;
  authorizationUrl?: string;
  tokenUrl?: string;
  userinfoUrl?: string;
  emailsUrl?: string;
}

const FACEBOOK_GRAPH = 'https://graph.facebook.com/v19.0';
/** OpenID Connect's standard scopes and claim names, which Google's and Microsoft's presets share. */
const OIDC = { protocol: 'oidc', scopes: ['openid', 'email', 'profile'] } as const satisfies Partial<Preset>;
const NAMES = { email: 'email', given_name: 'given_name', family_name: 'family_name', name: 'name' };

export const presets: Record<PresetType, Preset> = {
  google: { ...OIDC, domain: 'google.com', discoveryUrl: 'https://accounts.google.com/.well-known/openid-configuration', claimMapping: { sub: 'sub', email_verified: 'email_verified', ...NAMES } },
  // Personal Microsoft accounts are B2C's live.com; work accounts come through the same app registration.
  // Entra ID does not vouch for `email` (no email_verified): it links accounts only with trustEmail.
  microsoft: { ...OIDC, domain: 'live.com', claimMapping: { sub: 'oid', ...NAMES } },
  // B2C's Apple setup stores https://appleid.apple.com as its users' identity provider (and `idp`).
  apple: {
    protocol: 'oidc',
    domain: 'apple.com',
    identityIssuer: 'https://appleid.apple.com',
    discoveryUrl: 'https://appleid.apple.com/.well-known/openid-configuration',
    scopes: ['openid', 'email', 'name'],
    // The name arrives once, in the `user` field of the first sign-in's form post.
    claimMapping: { sub: 'sub', email: 'email', email_verified: 'email_verified', given_name: 'name.firstName', family_name: 'name.lastName' },
  },
  github: {
    protocol: 'oauth2',
    domain: 'github.com',
    authorizationUrl: 'https://github.com/login/oauth/authorize',
    tokenUrl: 'https://github.com/login/oauth/access_token',
    userinfoUrl: 'https://api.github.com/user',
    emailsUrl: 'https://api.github.com/user/emails',
    scopes: ['read:user', 'user:email'],
    // email and email_verified come from the primary verified address of /user/emails.
    claimMapping: { sub: 'id', email: 'email', email_verified: 'email_verified', name: 'name' },
  },
  facebook: {
    protocol: 'oauth2',
    domain: 'facebook.com',
    authorizationUrl: 'https://www.facebook.com/v19.0/dialog/oauth',
    tokenUrl: `${FACEBOOK_GRAPH}/oauth/access_token`,
    userinfoUrl: `${FACEBOOK_GRAPH}/me?fields=id,name,email,first_name,last_name`,
    scopes: ['email', 'public_profile'],
    claimMapping: { sub: 'id', email: 'email', given_name: 'first_name', family_name: 'last_name', name: 'name' },
  },
};

/** What an upstream returned about the user, before mapping. */
export interface UpstreamSources {
  /** The id_token's claims (OpenID providers). */
  idToken?: Record<string, unknown>;
  /** The userinfo endpoint's or user API's answer. */
  userinfo?: Record<string, unknown>;
  /** GitHub's GET /user/emails. */
  githubEmails?: unknown;
  /** Apple's `user` form field on the first sign-in: `{"name":{"firstName","lastName"},"email"}` as JSON. */
  appleUser?: string;
}

/** The user as Latchkey sees them after the provider's claim mapping. */
export interface MappedProfile {
  issuerAssignedId: string;
  email: string | undefined;
  emailVerified: boolean;
  /** Every other mapped claim with a value (given_name, family_name, name, and attributes such as country). */
  claims: Record<string, string | boolean>;
}

export class ProfileError extends Error {}

function valueAt(source: Record<string, unknown>, path: string): unknown {
  let v: unknown = source;
  for (const part of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

function githubPrimaryEmail(emails: unknown): { email: string; verified: boolean } | undefined {
  if (!Array.isArray(emails)) return undefined;
  const list = emails.filter((e): e is { email: string; primary?: boolean; verified?: boolean } => typeof e === 'object' && e !== null && typeof (e as { email?: unknown }).email === 'string');
  const pick = list.find((e) => e.primary && e.verified) ?? list.find((e) => e.verified);
  return pick ? { email: pick.email, verified: pick.verified === true } : undefined;
}

function appleUser(raw: string | undefined): Record<string, unknown> {
  if (!raw) return {};
  try {
    const parsed = JSON.parse(raw) as unknown;
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/**
 * Maps what a provider returned to Latchkey's claims. The id_token wins over userinfo; GitHub's
 * address comes from its verified list; Apple's name from the first sign-in's form post. An email
 * counts as verified only when the upstream says so (`email_verified` true or "true"), or the tenant
 * trusts the provider's addresses.
 */
export function mapProfile(
  provider: { type: string; claimMapping: Record<string, string>; trustEmail: boolean },
  sources: UpstreamSources,
): MappedProfile {
  const merged: Record<string, unknown> = { ...(sources.userinfo ?? {}), ...(sources.idToken ?? {}) };
  if (provider.type === 'github') {
    const primary = githubPrimaryEmail(sources.githubEmails);
    if (primary) {
      merged.email = primary.email;
      merged.email_verified = primary.verified;
    } else {
      // An address on the public profile without the verified list proves nothing.
      merged.email_verified = false;
    }
  }
  if (provider.type === 'apple') {
    const user = appleUser(sources.appleUser);
    if (user.name && typeof user.name === 'object') merged.name = user.name;
    if (typeof user.email === 'string' && merged.email === undefined) merged.email = user.email;
  }

  const claims: Record<string, string | boolean> = {};
  for (const [claim, path] of Object.entries(provider.claimMapping)) {
    const v = valueAt(merged, path);
    if (typeof v === 'string' && v.trim() !== '') claims[claim] = v.trim().slice(0, 1024);
    else if (typeof v === 'number' && Number.isFinite(v)) claims[claim] = String(v);
    else if (typeof v === 'boolean') claims[claim] = v;
  }
  const sub = claims.sub;
  if (typeof sub !== 'string' || sub === '') throw new ProfileError(`the identity provider's answer has no user id (${provider.claimMapping.sub ?? 'sub'})`);
  delete claims.sub;
  const email = typeof claims.email === 'string' && EMAIL.test(claims.email) ? claims.email : undefined;
  delete claims.email;
  const said = claims.email_verified;
  delete claims.email_verified;
  const emailVerified = email !== undefined && (said === true || said === 'true' || provider.trustEmail);
  if (claims.name === undefined) {
    const full = [claims.given_name, claims.family_name].filter((x): x is string => typeof x === 'string').join(' ');
    if (full) claims.name = full;
  }
  return { issuerAssignedId: sub, email, emailVerified, claims };
}
