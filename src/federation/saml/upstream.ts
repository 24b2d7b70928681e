import { SAML, SamlStatusError, ValidateInResponseTo, type CacheProvider } from '@node-saml/node-saml';
import type { Clock } from '../../model/clock.js';
import type { IdentityProvider } from '../config.js';
import { mapProfile, ProfileError, type MappedProfile } from '../presets.js';
import type { Counters } from '../../security/counters.js';
import { pemOf, type SamlKeys } from './certificates.js';
import { fetchMetadata, parseIdpMetadata, type FetchLike, type IdpMetadata } from './metadata.js';
import { entityIssuer } from './provider-config.js';
import { signatureAlgorithmProblem } from './signature.js';
import { NS, attr, child, children, parseTime, parseXml, textOf } from './xml.js';

/**
 * Latchkey as the service provider of an upstream SAML identity provider, with @node-saml/node-saml
 * doing the protocol: the AuthnRequest (signed, HTTP-Redirect or HTTP-POST per the IdP's metadata) and
 * the Response's checks (signature of the response or of its one assertion with the metadata's
 * certificates, audience, NotBefore / NotOnOrAfter, InResponseTo). Around it, what the Web Browser SSO
 * profile asks of an SP that node-saml leaves to its caller: the assertion's issuer is the IdP's entity
 * id, the bearer confirmation's Recipient and the Destination are this ACS, and an assertion is used once.
 */

export function samlSpEndpoints(baseUrl: string, tenantSlug: string, providerId: string): { entityId: string; acsUrl: string } {
  const base = `${baseUrl}/${tenantSlug}/federation/${providerId}/saml`;
  return { entityId: `${base}/metadata`, acsUrl: `${base}/acs` };
}

/** Why an upstream SAML sign-in failed; FederationClient turns it into its FederationError. */
export class SamlUpstreamError extends Error {
  constructor(
    readonly kind: 'unavailable' | 'rejected' | 'invalid_response' | 'cancelled',
    message: string,
  ) {
    super(message);
    this.name = 'SamlUpstreamError';
  }
}

/** The round trip: its AuthnRequest's ID is `_` + nonce, RelayState is the journey's state. */
export interface SamlChecks {
  state: string;
  nonce: string;
  tenant: { id: string; slug: string; baseUrl: string };
}

export interface SamlUpstreamDeps {
  clock: Clock;
  counters: Counters;
  /** How metadata URLs are fetched (the outbound client, which refuses private addresses unless allowed). */
  fetch: FetchLike;
  signingKeys(tenantId: string): Promise<SamlKeys>;
}

const METADATA_TTL_MS = 60 * 60_000;
const CLOCK_SKEW_MS = 60_000;

/** Answers node-saml's InResponseTo lookups with the one request this journey sent, and nothing else. */
function journeyRequest(requestId: string, issuedAt: number): CacheProvider {
  let spent = false;
  return {
    saveAsync: async (_key, value) => ({ value, createdAt: issuedAt }),
    getAsync: async (key) => (key === requestId && !spent ? new Date(issuedAt).toISOString() : null),
    removeAsync: async (key) => {
      if (key === requestId) spent = true;
      return key;
    },
  };
}

export class SamlUpstream {
  private readonly metadata = new WeakMap<IdentityProvider, { at: number; value: Promise<IdpMetadata> }>();

  constructor(private readonly deps: SamlUpstreamDeps) {}

  private async metadataOf(p: IdentityProvider): Promise<IdpMetadata> {
    const s = p.saml!;
    if (s.metadata) return s.metadata;
    const now = this.deps.clock.now();
    let entry = this.metadata.get(p);
    if (!entry || now - entry.at > METADATA_TTL_MS) {
      const value = fetchMetadata(this.deps.fetch, s.metadataUrl!, p.timeoutSeconds * 1000).then(parseIdpMetadata);
      entry = { at: now, value };
      this.metadata.set(p, entry);
      value.catch(() => {
        if (this.metadata.get(p) === entry) this.metadata.delete(p);
      });
    }
    try {
      return await entry.value;
    } catch (err) {
      throw new SamlUpstreamError('unavailable', `${p.displayName}'s SAML metadata cannot be used: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private async client(p: IdentityProvider, checks: SamlChecks, md: IdpMetadata): Promise<SAML> {
    const keys = await this.deps.signingKeys(checks.tenant.id);
    const { entityId, acsUrl } = samlSpEndpoints(checks.tenant.baseUrl, checks.tenant.slug, p.id);
    const requestId = `_${checks.nonce}`;
    return new SAML({
      entryPoint: md.ssoRedirect!,
      issuer: entityId,
      callbackUrl: acsUrl,
      audience: entityId,
      idpCert: md.certificates.map(pemOf),
      privateKey: keys.signing.key.export({ type: 'pkcs8', format: 'pem' }) as string,
      signatureAlgorithm: 'sha256',
      digestAlgorithm: 'sha256',
      // The IdP's default NameID format (each IdP has its own idea of what to offer this SP).
      identifierFormat: null,
      disableRequestedAuthnContext: true,
      // A signed response or a signed assertion: node-saml then requires the assertion's own signature
      // whenever the response is not signed.
      wantAuthnResponseSigned: false,
      wantAssertionsSigned: false,
      validateInResponseTo: ValidateInResponseTo.always,
      cacheProvider: journeyRequest(requestId, this.deps.clock.now()),
      generateUniqueId: () => requestId,
      acceptedClockSkewMs: CLOCK_SKEW_MS,
    });
  }

  /** Where the browser goes: the IdP's SSO URL with a signed AuthnRequest (HTTP-Redirect binding). */
  async begin(p: IdentityProvider, checks: SamlChecks): Promise<string> {
    const md = await this.metadataOf(p);
    if (!md.ssoRedirect) throw new SamlUpstreamError('unavailable', `${p.displayName} offers no HTTP-Redirect single sign-on service; Latchkey sends its requests by HTTP-Redirect.`);
    const client = await this.client(p, checks, md);
    return client.getAuthorizeUrlAsync(checks.state, undefined, {});
  }

  /** Checks the IdP's Response posted to the ACS and maps the user; the issuer of their identity with it. */
  async complete(p: IdentityProvider, params: Record<string, string>, checks: SamlChecks): Promise<{ profile: MappedProfile; issuer: string }> {
    const md = await this.metadataOf(p);
    const { acsUrl } = samlSpEndpoints(checks.tenant.baseUrl, checks.tenant.slug, p.id);
    const samlResponse = params.SAMLResponse;
    if (!samlResponse) throw new SamlUpstreamError('invalid_response', `${p.displayName} sent no SAMLResponse.`);
    let raw: Document;
    try {
      raw = parseXml(Buffer.from(samlResponse, 'base64').toString('utf8'));
    } catch (err) {
      throw new SamlUpstreamError('invalid_response', `${p.displayName} sent an unreadable response: ${err instanceof Error ? err.message : 'error'}`);
    }
    // node-saml (xml-crypto) would also check RSA-SHA1 signatures and SHA-1 digests: refused first, as Latchkey refuses them everywhere.
    const weak = signatureAlgorithmProblem(raw);
    if (weak) throw new SamlUpstreamError('invalid_response', `${p.displayName} sent a response Latchkey does not accept: ${weak}`);
    const destination = attr(raw.documentElement, 'Destination');
    if (destination !== undefined && destination !== acsUrl) throw new SamlUpstreamError('invalid_response', `${p.displayName}'s response is addressed to ${destination.slice(0, 200)}, not to this ACS.`);
    if (attr(raw.documentElement, 'InResponseTo') !== `_${checks.nonce}`) {
      throw new SamlUpstreamError('invalid_response', `${p.displayName}'s response does not answer this sign-in's request (InResponseTo).`);
    }
    const client = await this.client(p, checks, md);
    let profile;
    try {
      ({ profile } = await client.validatePostResponseAsync({ SAMLResponse: samlResponse }));
    } catch (err) {
      if (err instanceof SamlStatusError) {
        throw new SamlUpstreamError('rejected', `${p.displayName} refused the sign-in: ${err.message.slice(0, 300)}`);
      }
      throw new SamlUpstreamError('invalid_response', `${p.displayName} sent an invalid response: ${err instanceof Error ? err.message.split('\n')[0]!.slice(0, 300) : 'error'}`);
    }
    if (!profile) throw new SamlUpstreamError('invalid_response', `${p.displayName} sent no assertion.`);
    // What node-saml checked the signature of; read it again here for the checks it leaves to us.
    const assertion = parseXml(profile.getAssertionXml?.() ?? '').documentElement;
    const issuer = textOf(child(assertion, NS.saml, 'Issuer'));
    if (issuer !== md.entityId) throw new SamlUpstreamError('invalid_response', `The assertion was issued by '${(issuer ?? '').slice(0, 200)}', not by ${p.displayName} (${md.entityId}).`);
    const subject = child(assertion, NS.saml, 'Subject');
    const bearer = subject ? children(subject, NS.saml, 'SubjectConfirmation').filter((c) => attr(c, 'Method') === 'urn:oasis:names:tc:SAML:2.0:cm:bearer') : [];
    const now = this.deps.clock.now();
    const forThisAcs = bearer.map((c) => child(c, NS.saml, 'SubjectConfirmationData')).filter((d): d is Element => d !== undefined && attr(d, 'Recipient') === acsUrl);
    if (forThisAcs.length === 0) throw new SamlUpstreamError('invalid_response', `${p.displayName}'s assertion has no bearer confirmation for this ACS (Recipient).`);
    // The signed assertion itself must answer this sign-in's request: the response's InResponseTo is not
    // signed when only the assertion is, so an unsolicited assertion could otherwise be carried into any
    // waiting sign-in (SAML profiles §4.1.4.2: InResponseTo is the request's ID).
    const answering = forThisAcs.filter((d) => attr(d, 'InResponseTo') === `_${checks.nonce}`);
    if (answering.length === 0) throw new SamlUpstreamError('invalid_response', `${p.displayName}'s assertion does not answer this sign-in's request (its bearer confirmation has no matching InResponseTo).`);
    const confirmed = answering.some((d) => {
      const until = parseTime(attr(d, 'NotOnOrAfter'), 'SubjectConfirmationData NotOnOrAfter');
      return until !== undefined && until + CLOCK_SKEW_MS > now;
    });
    if (!confirmed) throw new SamlUpstreamError('invalid_response', `${p.displayName}'s assertion has no bearer confirmation for this ACS (Recipient) that is still valid.`);
    // One use per assertion: its ID is remembered until it expires (on every instance, in the shared counters).
    const assertionId = attr(assertion, 'ID') ?? '';
    const conditions = child(assertion, NS.saml, 'Conditions');
    const expires = parseTime(conditions ? attr(conditions, 'NotOnOrAfter') : undefined, 'Conditions NotOnOrAfter') ?? now + 3600_000;
    const seen = await this.deps.counters.hit(`saml-assertion|${checks.tenant.id}|${p.id}|${assertionId}`, Math.min(Math.max(expires - now + CLOCK_SKEW_MS, 60_000), 86_400_000), now);
    if (seen.count > 1) throw new SamlUpstreamError('invalid_response', `${p.displayName}'s assertion ${assertionId.slice(0, 80)} was already used (a replay).`);

    const values: Record<string, unknown> = {};
    const nameId = profile.nameID;
    const attrs = (profile.attributes ?? {}) as Record<string, unknown>;
    for (const [claim, names] of Object.entries(p.saml!.claimMapping)) {
      for (const name of names) {
        const v = name === 'NameID' ? nameId : firstValue(attrs[name]);
        if (typeof v === 'string' && v !== '') {
          values[claim] = v;
          break;
        }
      }
    }
    let mapped: MappedProfile;
    try {
      mapped = mapProfile({ type: 'saml', claimMapping: Object.fromEntries(Object.keys(values).map((k) => [k, k])), trustEmail: p.trustEmail }, { userinfo: values });
    } catch (err) {
      if (err instanceof ProfileError) throw new SamlUpstreamError('invalid_response', `${p.displayName} sent an unusable assertion: ${err.message}.`);
      throw err;
    }
    return { profile: mapped, issuer: p.saml!.identityIssuer ?? entityIssuer(md.entityId) };
  }
}

function firstValue(v: unknown): unknown {
  return Array.isArray(v) ? v[0] : v;
}
