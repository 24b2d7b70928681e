import { randomUUID } from 'node:crypto';
import type { Clock } from '../model/clock.js';
import { invalid, notFound } from '../model/errors.js';
import { GUID, isLoopbackHost } from '../model/patterns.js';
import type { Audit } from '../security/audit.js';
import { StoreConflictError, type Store } from '../store/store.js';
import { samlNameIdFormats, type SamlApp, type SamlEndpoint, type Tenant } from '../model/entities.js';
import { fetchMetadata, parseSpMetadata, type FetchLike } from '../federation/saml/metadata.js';
import { SamlError } from '../federation/saml/xml.js';

/**
 * Registering a SAML application (B2C's "Register a SAML application"): from the service provider's
 * metadata (a URL or a file's text) or from its entity id and ACS URLs given by hand; and removing one.
 * The CLI, the web console and the admin API all come here.
 */

export interface CreateSamlAppInput {
  name: string;
  metadataUrl?: string;
  /** The text of a metadata file. */
  metadataXml?: string;
  entityId?: string;
  acsUrls?: string[];
  sloUrl?: string;
  nameId?: string;
  requireSignedRequests?: boolean;
}

const NAME_ID_FORMATS = samlNameIdFormats;

function checkUrl(flag: string, u: string): void {
  let url: URL;
  try {
    url = new URL(u);
  } catch {
    throw invalid(`invalid ${flag} '${u}': an absolute URL`);
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) throw invalid(`invalid ${flag} '${u}': use https (http is allowed for localhost only)`);
  if (url.hash) throw invalid(`invalid ${flag} '${u}': must not contain a fragment`);
}

/** `by` names who registered it in the audit event (`cli`, `admin API ({client id})`). */
export async function createSamlApp(d: { store: Store; audit: Audit; clock: Clock; fetch: FetchLike }, tenant: Tenant, input: CreateSamlAppInput, by?: string): Promise<SamlApp> {
  const name = input.name.trim();
  if (name.length === 0 || name.length > 100) throw invalid('invalid --name: 1-100 characters');
  const sources = [input.metadataUrl, input.metadataXml, input.entityId].filter((x) => x !== undefined).length;
  if (sources !== 1) throw invalid('a SAML app needs exactly one of --metadata-url, --metadata-file, or --entity-id with --acs-url');
  const format = input.nameId ?? 'persistent';
  if (!(NAME_ID_FORMATS as readonly string[]).includes(format)) throw invalid(`invalid --name-id '${format}': one of ${NAME_ID_FORMATS.join(', ')}`);

  let entityId: string;
  let acs: SamlEndpoint[];
  let slo: SamlApp['slo'] = null;
  let certificates: string[] = [];
  let signedByMetadata = false;
  if (input.entityId !== undefined) {
    entityId = input.entityId.trim();
    if (entityId.length === 0 || entityId.length > 1024 || /\s/.test(entityId)) throw invalid('invalid --entity-id: a URI of at most 1024 characters');
    const urls = input.acsUrls ?? [];
    if (urls.length === 0) throw invalid('--entity-id needs at least one --acs-url');
    acs = [...new Set(urls)].map((url, index) => ({ url, index, ...(index === 0 ? { isDefault: true } : {}) }));
  } else {
    if ((input.acsUrls ?? []).length > 0) throw invalid('--acs-url goes with --entity-id; with metadata the ACS URLs come from it');
    if (input.metadataUrl !== undefined) checkUrl('--metadata-url', input.metadataUrl);
    let md;
    try {
      md = parseSpMetadata(input.metadataXml ?? (await fetchMetadata(d.fetch, input.metadataUrl!)));
    } catch (err) {
      if (err instanceof SamlError) throw invalid(`the service provider's metadata cannot be used: ${err.message}`);
      throw err;
    }
    entityId = md.entityId;
    acs = md.acs;
    slo = md.slo;
    certificates = md.certificates;
    signedByMetadata = md.authnRequestsSigned && certificates.length > 0;
  }
  for (const a of acs) checkUrl('ACS URL', a.url);
  if (input.sloUrl !== undefined) {
    checkUrl('--slo-url', input.sloUrl);
    slo = { url: input.sloUrl, responseUrl: null, binding: 'redirect' };
  }
  if (slo) checkUrl('single logout URL', slo.url);
  // The metadata's ResponseLocation is where LogoutResponses go (a redirect, a form, a page's link): the same rules.
  if (slo?.responseUrl) checkUrl('single logout response URL', slo.responseUrl);
  if (input.requireSignedRequests && certificates.length === 0) {
    throw invalid("--require-signed-requests needs the service provider's signing certificate: register it from its metadata (--metadata-url or --metadata-file)");
  }
  const app: SamlApp = {
    clientId: randomUUID(),
    tenantId: tenant.id,
    name,
    entityId,
    acs,
    slo,
    nameIdFormat: format as SamlApp['nameIdFormat'],
    requireSignedRequests: (input.requireSignedRequests ?? false) || signedByMetadata,
    certificates,
    metadataUrl: input.metadataUrl ?? null,
    createdAt: d.clock.now(),
  };
  try {
    await d.store.createSamlApp(app);
  } catch (err) {
    if (err instanceof StoreConflictError) throw invalid(`a SAML app with entity id '${entityId}' already exists in this tenant`);
    throw err;
  }
  await d.audit.record({ tenantId: tenant.id, event: 'app_created', outcome: 'success', clientId: app.clientId, detail: `saml ${name} (${entityId})${by ? ` by ${by}` : ''}` });
  return app;
}

/** The tenant's SAML app of that client id; another tenant's, or none, is not found. */
export async function requireSamlApp(d: { store: Store }, tenant: Tenant, clientId: string): Promise<SamlApp> {
  const id = clientId.toLowerCase();
  const app = GUID.test(id) ? await d.store.findSamlApp(tenant.id, id) : undefined;
  if (!app) throw notFound(`no SAML app '${clientId}' in tenant '${tenant.slug}'`);
  return app;
}

/**
 * Removes a SAML app: from then on the SSO endpoints refuse its entity id (a 400 page, nothing posted).
 * Its name stays in the audit trail; SSO sessions it was part of no longer sign it out.
 */
export async function removeSamlApp(d: { store: Store; audit: Audit }, tenant: Tenant, clientId: string, by: string): Promise<SamlApp> {
  const id = clientId.toLowerCase();
  if (!GUID.test(id)) throw invalid(`invalid --app '${clientId}': a SAML app's client id`);
  const app = await d.store.findSamlApp(tenant.id, id);
  if (!app || !(await d.store.removeSamlApp(tenant.id, id))) throw notFound(`no SAML app '${id}' in tenant '${tenant.slug}'`);
  await d.audit.record({ tenantId: tenant.id, event: 'app_removed', outcome: 'success', clientId: id, detail: `saml ${app.name} (${app.entityId}) by ${by}` });
  return app;
}

/** A SAML app as the CLI prints it (OAuth's field names where they exist). */
export function samlAppJson(a: SamlApp, idp?: { metadataUrl: string }): Record<string, unknown> {
  return {
    client_id: a.clientId,
    name: a.name,
    type: 'saml',
    entity_id: a.entityId,
    acs_urls: a.acs.map((x) => x.url),
    ...(a.slo ? { slo_url: a.slo.url } : {}),
    name_id: a.nameIdFormat,
    require_signed_requests: a.requireSignedRequests,
    signing_certificates: a.certificates.length,
    ...(a.metadataUrl ? { metadata_url: a.metadataUrl } : {}),
    ...(idp ? { idp_metadata_url: idp.metadataUrl } : {}),
    created_at: new Date(a.createdAt).toISOString(),
  };
}
