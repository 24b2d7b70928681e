import { isLoopbackHost } from '../model/patterns.js';
import { existsSync, readFileSync } from 'node:fs';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { presets, type PresetType } from './presets.js';
import { identityIssuerProblems, samlProviderSchema, resolveSamlProvider, type SamlProviderSettings } from './saml/provider-config.js';
import { secretRefSchema, type SecretRef } from '../model/secret-ref.js';

/**
 * A tenant's upstream identity providers: `policies/{tenant}/identity-providers.json`. Validated with
 * zod like policies (file, JSON path and reason in every problem), secrets only by environment
 * variable, presets filled in, and resolved into `IdentityProvider` objects the adapters use.
 */
export const IDENTITY_PROVIDERS_FILE = 'identity-providers.json';

export const providerTypes = ['oidc', 'oauth2', 'google', 'microsoft', 'apple', 'github', 'facebook', 'saml'] as const;
export type ProviderType = (typeof providerTypes)[number];

/** A secret is never written in the file: it names a tenant secret or (operators' files only) an environment variable. */
const secretRef = secretRefSchema;

/** https, or http to this machine (development and tests). */
const endpoint = z.url({ protocol: /^https?$/ }).refine((u) => {
  const url = new URL(u);
  return url.protocol === 'https:' || isLoopbackHost(url.hostname);
}, 'must use https (http is allowed for localhost only)');

/** What `domain_hint` names a provider by, as B2C's policies write it: a domain (contoso.com), a word (commonaad) or a URL; compared without case. */
const domain = z.string().regex(/^[^\s"'<>]{1,256}$/, 'must be a domain such as contoso.com (or what the B2C policy named the provider by: a word or a URL), without spaces').transform((d) => d.toLowerCase());
/** The issuer stored in users' identities and emitted as `idp`: a domain or URL, as a B2C export shows it. */
const identityIssuer = z.string().regex(/^\S{1,256}$/, "must be the issuer B2C's export shows for these users (a domain such as google.com, or a URL such as https://appleid.apple.com), without spaces");
const claimName = z.string().regex(/^[A-Za-z_][\w.]*$/, 'must be a claim name (a dotted path for nested values)');

const common = {
  id: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be 1-63 lower-case letters, digits and -')
    .refine((id) => id !== 'local', "'local' is the local-account provider and cannot be configured"),
  displayName: z.string().min(1).max(100),
  clientId: z.string().min(1).max(500),
  scopes: z.array(z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'must be a scope token')).min(1).optional(),
  /** Latchkey claim → upstream claim (a dotted path for nested values); presets fill in theirs. */
  claimMapping: z.record(z.string().regex(/^[A-Za-z_]\w*$/, 'must be a claim name'), claimName).optional(),
  /** What `domain_hint` may name the provider by (default: the preset's domain, or its id). */
  domainHint: domain.optional(),
  /**
   * The issuer of its users' identities and the `idp` claim (default: the domainHint when given, else
   * what B2C stores for a preset, or the issuer's host for a generic provider): set it to what the B2C
   * export's identities show.
   */
  identityIssuer: identityIssuer.optional(),
  /** Treat the upstream's email address as verified even without `email_verified` (Keycloak's "Trust Email"). */
  trustEmail: z.boolean().default(false),
  /** How long an upstream request may take before the sign-in fails with a clear message. */
  timeoutSeconds: z.number().int().min(1).max(60).default(10),
  /** The algorithm the provider signs id_tokens with (OpenID Connect's default RS256); any other is refused. */
  idTokenSigningAlg: z.enum(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']).default('RS256'),
};

const clientAuth = z.enum(['client_secret_basic', 'client_secret_post']).default('client_secret_post');

const oidcType = z
  .object({
    ...common,
    type: z.literal('oidc'),
    discoveryUrl: endpoint,
    clientSecret: secretRef.optional(),
    clientAuthentication: clientAuth,
    /** How the provider returns to the callback: a redirect (query) or a form post (B2C's default for OIDC providers). */
    responseMode: z.enum(['query', 'form_post']).default('query'),
  })
  .strict();

const oauth2Type = z
  .object({
    ...common,
    type: z.literal('oauth2'),
    authorizationUrl: endpoint,
    tokenUrl: endpoint,
    userinfoUrl: endpoint,
    clientSecret: secretRef,
    clientAuthentication: clientAuth,
    claimMapping: z.record(z.string().regex(/^[A-Za-z_]\w*$/), claimName).refine((m) => m.sub !== undefined, 'must map sub (the upstream user id)'),
  })
  .strict();

const googleType = z.object({ ...common, type: z.literal('google'), discoveryUrl: endpoint.optional(), clientSecret: secretRef }).strict();

const microsoftType = z
  .object({
    ...common,
    type: z.literal('microsoft'),
    /** common (work and personal accounts), organizations, consumers, or one Entra ID tenant (GUID or domain). */
    tenant: z.string().regex(/^[\w.-]{1,100}$/, 'must be common, organizations, consumers, or a tenant id').default('common'),
    discoveryUrl: endpoint.optional(),
    clientSecret: secretRef,
  })
  .strict();

const appleType = z
  .object({
    ...common,
    type: z.literal('apple'),
    discoveryUrl: endpoint.optional(),
    /** The Apple developer team id and the Sign in with Apple key's id; the key (.p8) signs the client secret. */
    teamId: z.string().regex(/^[A-Z0-9]{10}$/, 'must be the 10-character Apple team id'),
    keyId: z.string().regex(/^[A-Z0-9]{10}$/, 'must be the 10-character key id'),
    privateKey: secretRef.optional(),
    /** The .p8 file, relative to the tenant's policy folder (or absolute). */
    privateKeyFile: z.string().min(1).optional(),
  })
  .strict()
  .refine((a) => (a.privateKey === undefined) !== (a.privateKeyFile === undefined), {
    message: 'give exactly one of privateKey (an environment variable) or privateKeyFile',
    path: ['privateKey'],
  });

const githubType = z
  .object({
    ...common,
    type: z.literal('github'),
    authorizationUrl: endpoint.optional(),
    tokenUrl: endpoint.optional(),
    userinfoUrl: endpoint.optional(),
    emailsUrl: endpoint.optional(),
    clientSecret: secretRef,
  })
  .strict();

const facebookType = z
  .object({
    ...common,
    type: z.literal('facebook'),
    authorizationUrl: endpoint.optional(),
    tokenUrl: endpoint.optional(),
    userinfoUrl: endpoint.optional(),
    clientSecret: secretRef,
  })
  .strict();

const providerSchema = z.discriminatedUnion('type', [oidcType, oauth2Type, googleType, microsoftType, appleType, githubType, facebookType, samlProviderSchema({ id: common.id, displayName: common.displayName, domainHint: common.domainHint, trustEmail: common.trustEmail, timeoutSeconds: common.timeoutSeconds, endpoint })]);

export const identityProvidersSchema = z
  .object({
    $schema: z.string().optional(),
    providers: z.array(providerSchema).default([]),
  })
  .strict()
  .superRefine((file, ctx) => {
    const ids = new Map<string, number>();
    const domains = new Map<string, number>();
    file.providers.forEach((p, i) => {
      if (ids.has(p.id)) ctx.addIssue({ code: 'custom', path: ['providers', i, 'id'], message: `duplicates the id of providers[${ids.get(p.id)}]` });
      ids.set(p.id, i);
      const d = p.domainHint ?? (p.type in presets ? presets[p.type as PresetType].domain : undefined);
      if (d !== undefined) {
        if (domains.has(d)) ctx.addIssue({ code: 'custom', path: ['providers', i, 'domainHint'], message: `'${d}' is the domain of providers[${domains.get(d)}] too; give one of them another domainHint` });
        domains.set(d, i);
      }
    });
  });

export type ProviderConfig = z.infer<typeof providerSchema>;

/** How the upstream speaks: OpenID Connect (discovery, id_token) or plain OAuth 2.0 plus a user API. */
export type Protocol = 'oidc' | 'oauth2' | 'saml';

/** A configured provider with presets applied and secrets read: what the adapters work with. */
export interface IdentityProvider {
  id: string;
  /** The tenant (slug) whose identity-providers.json configures it: its tenant secrets are the ones named. */
  tenant: string;
  type: ProviderType;
  protocol: Protocol;
  displayName: string;
  /** What a `domain_hint` selects it by. */
  domain: string;
  /** The issuer of its users' identities and the `idp` claim; a SAML provider's may be known only from its metadata. */
  identityIssuer?: string;
  /**
   * The issuer Latchkey stored for this provider's identities before `identityIssuer` existed (its
   * domain hint, or its id), when that differs: a user not found under identityIssuer is looked for under it.
   */
  formerIssuer?: string;
  clientId: string;
  /** The value (read from the environment at load), or a tenant secret's name (read when used). */
  clientSecret: SecretValue | undefined;
  clientAuthentication: 'client_secret_basic' | 'client_secret_post';
  scopes: string[];
  claimMapping: Record<string, string>;
  trustEmail: boolean;
  timeoutSeconds: number;
  idTokenSigningAlg: string;
  /** OIDC: the discovery document. */
  discoveryUrl?: string;
  /** OAuth 2.0: the endpoints. */
  authorizationUrl?: string;
  tokenUrl?: string;
  userinfoUrl?: string;
  /** GitHub: where the verified addresses are. */
  emailsUrl?: string;
  /** Apple: what signs the client secret, and the response mode it needs for name and email. */
  apple?: { teamId: string; keyId: string; privateKeyPem: SecretValue };
  responseMode?: 'form_post';
  /** SAML: the identity provider's metadata (read from its file, or where to fetch it) and the identity issuer. */
  saml?: SamlProviderSettings;
}

/** A secret as a provider holds it: read already (an environment variable), or a tenant secret read when it is used. */
export type SecretValue = string | { tenantSecret: string };

export interface ProviderProblem {
  file: string;
  path: string;
  message: string;
}

function jsonPath(path: readonly PropertyKey[]): string {
  return '$' + path.map((k) => (typeof k === 'number' ? `[${k}]` : `.${String(k)}`)).join('');
}

function readSecret(ref: SecretRef | undefined, env: NodeJS.ProcessEnv, at: string, file: string, problems: ProviderProblem[]): SecretValue | undefined {
  if (!ref) return undefined;
  if ('secret' in ref) return { tenantSecret: ref.secret };
  const value = env[ref.env];
  if (value === undefined || value === '') {
    problems.push({ file, path: at, message: `the environment variable ${ref.env} is not set` });
    return undefined;
  }
  return value;
}

/** Presets filled in, overrides applied, secrets read from the environment. */
function resolveProvider(p: ProviderConfig, i: number, folder: string, file: string, env: NodeJS.ProcessEnv, problems: ProviderProblem[]): IdentityProvider | undefined {
  if (p.type === 'saml') return resolveSamlProvider(p, `$.providers[${i}]`, folder, file, problems);
  const before = problems.length;
  const at = `$.providers[${i}]`;
  const preset = p.type === 'oidc' || p.type === 'oauth2' ? undefined : presets[p.type];
  const clientSecret = 'clientSecret' in p ? readSecret(p.clientSecret, env, `${at}.clientSecret`, file, problems) : undefined;
  const domain = p.domainHint ?? preset?.domain ?? p.id;
  // A domain hint the file gives was its identities' issuer before identityIssuer existed, and stays so.
  const issuer = p.identityIssuer ?? p.domainHint ?? defaultIdentityIssuer(p, preset);
  const base: IdentityProvider = {
    id: p.id,
    tenant: basename(folder),
    type: p.type,
    protocol: preset?.protocol ?? (p.type === 'oauth2' ? 'oauth2' : 'oidc'),
    displayName: p.displayName,
    domain,
    identityIssuer: issuer,
    ...(issuer.toLowerCase() !== domain ? { formerIssuer: domain } : {}),
    clientId: p.clientId,
    clientSecret,
    clientAuthentication: 'clientAuthentication' in p ? p.clientAuthentication : 'client_secret_post',
    scopes: p.scopes ?? preset?.scopes ?? ['openid', 'email', 'profile'],
    claimMapping: { ...(preset?.claimMapping ?? standardMapping), ...p.claimMapping },
    trustEmail: p.trustEmail,
    timeoutSeconds: p.timeoutSeconds,
    idTokenSigningAlg: p.idTokenSigningAlg,
  };
  switch (p.type) {
    case 'oidc':
      base.discoveryUrl = p.discoveryUrl;
      if (p.responseMode === 'form_post') base.responseMode = 'form_post';
      break;
    case 'oauth2':
      Object.assign(base, { authorizationUrl: p.authorizationUrl, tokenUrl: p.tokenUrl, userinfoUrl: p.userinfoUrl });
      break;
    case 'google':
      base.discoveryUrl = p.discoveryUrl ?? presets.google.discoveryUrl!;
      break;
    case 'microsoft':
      base.discoveryUrl = p.discoveryUrl ?? `https://login.microsoftonline.com/${encodeURIComponent(p.tenant)}/v2.0/.well-known/openid-configuration`;
      break;
    case 'apple': {
      base.discoveryUrl = p.discoveryUrl ?? presets.apple.discoveryUrl!;
      base.responseMode = 'form_post';
      let pem: SecretValue | undefined;
      if (p.privateKey) pem = readSecret(p.privateKey, env, `${at}.privateKey`, file, problems);
      else if (p.privateKeyFile) {
        const path = isAbsolute(p.privateKeyFile) ? p.privateKeyFile : resolve(folder, p.privateKeyFile);
        try {
          pem = readFileSync(path, 'utf8');
        } catch (err) {
          problems.push({ file, path: `${at}.privateKeyFile`, message: `cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})` });
        }
      }
      if (typeof pem === 'string' && !pem.includes('-----BEGIN PRIVATE KEY-----')) {
        problems.push({ file, path: `${at}.${p.privateKey ? 'privateKey' : 'privateKeyFile'}`, message: 'is not a PKCS#8 PEM key (the .p8 file Apple gives you)' });
      }
      if (pem !== undefined) base.apple = { teamId: p.teamId, keyId: p.keyId, privateKeyPem: pem };
      break;
    }
    case 'github':
    case 'facebook': {
      // The preset's endpoints, each replaceable in the file (a GitHub Enterprise server, a Graph API version).
      const preset = presets[p.type];
      for (const key of ['authorizationUrl', 'tokenUrl', 'userinfoUrl', 'emailsUrl'] as const) {
        const value = (key in p ? (p as Partial<Record<typeof key, string>>)[key] : undefined) ?? preset[key];
        if (value !== undefined) base[key] = value;
      }
      break;
    }
  }
  return problems.length > before ? undefined : base;
}

/**
 * The issuer of a provider's identities when the file names neither it nor a domain hint: what B2C
 * stores for a preset (its domain, Apple's https://appleid.apple.com, an Entra ID tenant's issuer URL),
 * a generic provider's issuer host (the discovery document's, or the authorization server's for plain
 * OAuth 2.0).
 */
function defaultIdentityIssuer(p: Exclude<ProviderConfig, { type: 'saml' }>, preset: (typeof presets)[PresetType] | undefined): string {
  if (p.type === 'microsoft' && !['common', 'organizations', 'consumers'].includes(p.tenant.toLowerCase())) return `https://login.microsoftonline.com/${p.tenant}/v2.0`;
  if (p.type === 'oidc') return new URL(p.discoveryUrl).host;
  if (p.type === 'oauth2') return new URL(p.authorizationUrl).host;
  return preset!.identityIssuer ?? preset!.domain;
}

/** What a generic OpenID provider's standard claims map to. */
export const standardMapping: Record<string, string> = {
  sub: 'sub',
  email: 'email',
  email_verified: 'email_verified',
  given_name: 'given_name',
  family_name: 'family_name',
  name: 'name',
};

export type ProvidersResult = { providers: Map<string, IdentityProvider> } | { problems: ProviderProblem[] };

/** Reads and validates a tenant folder's identity-providers.json (no file: no providers). */
export function loadIdentityProviders(folder: string, env: NodeJS.ProcessEnv = process.env): ProvidersResult {
  const file = join(folder, IDENTITY_PROVIDERS_FILE);
  if (!existsSync(file)) return { providers: new Map() };
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { problems: [{ file, path: '$', message: `cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})` }] };
  }
  return validateIdentityProvidersText(folder, text, env);
}

/** The checks of identity-providers.json on its text as it would be saved in `folder` (the console writes only what passes). */
export function validateIdentityProvidersText(folder: string, text: string, env: NodeJS.ProcessEnv = process.env): ProvidersResult {
  const file = join(folder, IDENTITY_PROVIDERS_FILE);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { problems: [{ file, path: '$', message: `not valid JSON: ${(err as Error).message}` }] };
  }
  const parsed = identityProvidersSchema.safeParse(json);
  if (!parsed.success) return { problems: parsed.error.issues.map((i) => ({ file, path: jsonPath(i.path), message: i.message })) };
  const problems: ProviderProblem[] = [];
  const providers = new Map<string, IdentityProvider>();
  const indexed: { index: number; provider: IdentityProvider }[] = [];
  parsed.data.providers.forEach((p, i) => {
    const resolved = resolveProvider(p, i, folder, file, env, problems);
    if (resolved) {
      providers.set(resolved.id, resolved);
      indexed.push({ index: i, provider: resolved });
    }
  });
  if (problems.length === 0) problems.push(...identityIssuerProblems(indexed, file));
  return problems.length > 0 ? { problems } : { providers };
}

/** The redirect URI to register at the upstream provider: `{base}/{tenant}/federation/{id}/callback`. */
export function callbackUrl(baseUrl: string, tenantSlug: string, providerId: string): string {
  return `${baseUrl}/${tenantSlug}/federation/${providerId}/callback`;
}
