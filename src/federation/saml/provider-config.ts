import { readFileSync } from 'node:fs';
import { basename, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import type { IdentityProvider, ProviderProblem } from '../config.js';
import { parseIdpMetadata, type IdpMetadata } from './metadata.js';
import { SamlError } from './xml.js';

/**
 * An upstream SAML identity provider in identity-providers.json (`"type": "saml"`): its metadata by URL
 * or file, how its NameID and attributes map to Latchkey's claims, and the issuer of its users'
 * identities (`identityIssuer`, by default the host of its entity id).
 */

/** What the adapter needs beyond the common provider fields. */
export interface SamlProviderSettings {
  metadataUrl?: string;
  /** Read and checked when the file is loaded (a metadataFile). */
  metadata?: IdpMetadata;
  identityIssuer?: string;
  /** Latchkey claim → the SAML attribute names to take it from (the first present wins); `NameID` is the subject. */
  claimMapping: Record<string, string[]>;
}

/** Where a claim is read when the file does not say: the names B2C's SAML technical profiles and common IdPs use. */
export const defaultSamlMapping: Record<string, string[]> = {
  sub: ['NameID'],
  email: ['email', 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress', 'urn:oid:0.9.2342.19200300.100.1.3', 'mail'],
  given_name: ['given_name', 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname', 'urn:oid:2.5.4.42', 'givenName'],
  family_name: ['family_name', 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname', 'urn:oid:2.5.4.4', 'sn', 'surname'],
  name: ['name', 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name', 'urn:oid:2.16.840.1.113730.3.1.241', 'displayName'],
};

interface Shared {
  id: z.ZodType<string>;
  displayName: z.ZodType<string>;
  domainHint: z.ZodOptional<z.ZodType<string>>;
  trustEmail: z.ZodDefault<z.ZodBoolean>;
  timeoutSeconds: z.ZodDefault<z.ZodNumber>;
  endpoint: z.ZodType<string>;
}

export function samlProviderSchema(shared: Shared) {
  return z
    .object({
      id: shared.id,
      type: z.literal('saml'),
      displayName: shared.displayName,
      metadataUrl: shared.endpoint.optional(),
      /** Relative to the tenant's policy folder (or absolute). */
      metadataFile: z.string().min(1).optional(),
      /** Latchkey claim → `NameID` or a SAML attribute name (as the IdP names it: a URI, an OID, a plain name). */
      claimMapping: z.record(z.string().regex(/^[A-Za-z_]\w*$/, 'must be a claim name'), z.string().min(1).max(1024)).optional(),
      /** The issuer stored in users' identities and emitted as `idp` (a URL or domain, as a B2C export shows it). */
      identityIssuer: z.string().min(1).max(1024).optional(),
      domainHint: shared.domainHint,
      trustEmail: shared.trustEmail,
      timeoutSeconds: shared.timeoutSeconds,
    })
    .strict()
    .refine((p) => (p.metadataUrl === undefined) !== (p.metadataFile === undefined), { message: 'give exactly one of metadataUrl or metadataFile', path: ['metadataUrl'] });
}

type SamlConfig = z.infer<ReturnType<typeof samlProviderSchema>>;

/** The identity issuer of an entity id: its host when it is a URL, the entity id itself otherwise (a URN). */
export function entityIssuer(entityId: string): string {
  try {
    const u = new URL(entityId);
    if (u.protocol === 'http:' || u.protocol === 'https:') return u.host;
  } catch {
    // not a URL
  }
  return entityId;
}

/**
 * Users are found by their identity (issuer, subject), so two providers whose users' identities share
 * an issuer would sign in each other's users. A SAML provider's default issuer is its entity id's host,
 * and different identity providers share hosts (Okta's `www.okta.com`, Google Workspace's
 * `accounts.google.com`, Entra ID's `sts.windows.net`): identity issuers (and the issuers a provider
 * still finds its users under, formerIssuer) must differ within a file, and a SAML provider whose
 * issuer is known only once its metadata is fetched (metadataUrl) names its identityIssuer when the
 * file has another SAML provider.
 */
export function identityIssuerProblems(providers: { index: number; provider: IdentityProvider }[], file: string): ProviderProblem[] {
  const problems: ProviderProblem[] = [];
  const seen = new Map<string, number>();
  const samlCount = providers.filter((x) => x.provider.saml).length;
  for (const { index, provider: p } of providers) {
    const at = `$.providers[${index}]`;
    const issuer = p.saml ? (p.saml.identityIssuer ?? (p.saml.metadata ? entityIssuer(p.saml.metadata.entityId) : undefined)) : p.identityIssuer;
    if (issuer === undefined) {
      if (samlCount > 1) {
        problems.push({ file, path: `${at}.identityIssuer`, message: "with more than one SAML identity provider, give each metadataUrl provider its identityIssuer (entity ids of different identity providers can share a host, and their users' identities would too)" });
      }
      continue;
    }
    const own = new Set([issuer.toLowerCase(), ...(p.formerIssuer !== undefined ? [p.formerIssuer.toLowerCase()] : [])]);
    for (const i of own) {
      const first = seen.get(i);
      if (first === undefined) continue;
      problems.push({ file, path: `${at}.identityIssuer`, message: `the users of providers[${first}] get identities of the issuer '${i}' too, so a user of one could sign in as a user of the other; give one of them another identityIssuer` });
    }
    for (const i of own) if (!seen.has(i)) seen.set(i, index);
  }
  return problems;
}

export function resolveSamlProvider(p: SamlConfig, at: string, folder: string, file: string, problems: ProviderProblem[]): IdentityProvider | undefined {
  const claimMapping: Record<string, string[]> = { ...defaultSamlMapping };
  for (const [claim, name] of Object.entries(p.claimMapping ?? {})) claimMapping[claim] = [name];
  const saml: SamlProviderSettings = { claimMapping, ...(p.identityIssuer !== undefined ? { identityIssuer: p.identityIssuer } : {}) };
  if (p.metadataUrl !== undefined) saml.metadataUrl = p.metadataUrl;
  else {
    const path = isAbsolute(p.metadataFile!) ? p.metadataFile! : resolve(folder, p.metadataFile!);
    try {
      saml.metadata = parseIdpMetadata(readFileSync(path, 'utf8'));
    } catch (err) {
      const reason = err instanceof SamlError ? err.message : `cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`;
      problems.push({ file, path: `${at}.metadataFile`, message: reason });
      return undefined;
    }
  }
  const known = saml.metadata ? entityIssuer(saml.metadata.entityId) : undefined;
  return {
    id: p.id,
    tenant: basename(folder),
    type: 'saml',
    protocol: 'saml',
    displayName: p.displayName,
    domain: (p.domainHint ?? p.identityIssuer ?? known ?? p.id).toLowerCase(),
    ...(p.identityIssuer ?? known ? { identityIssuer: (p.identityIssuer ?? known)! } : {}),
    clientId: '',
    clientSecret: undefined,
    clientAuthentication: 'client_secret_post',
    scopes: [],
    claimMapping: Object.fromEntries(Object.entries(claimMapping).map(([k, v]) => [k, v[0]!])),
    trustEmail: p.trustEmail,
    timeoutSeconds: p.timeoutSeconds,
    idTokenSigningAlg: 'RS256',
    saml,
  };
}
