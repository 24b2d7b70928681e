import { generateKeyPairSync } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { SAML, ValidateInResponseTo, type Profile } from '@node-saml/node-saml';
import { deriveCertificate } from '../../src/federation/saml/certificates.js';

/**
 * A SAML service provider on 127.0.0.1 built on @node-saml/node-saml (not Latchkey's code): it sends
 * AuthnRequests to Latchkey and validates the Responses posted to its ACS the way node-saml's users
 * (passport-saml apps) do — both signatures, audience, InResponseTo, validity.
 */
export interface SamlSp {
  url: string;
  entityId: string;
  acsUrl: string;
  sloUrl: string;
  /** Its signing certificate (base64 DER), also in its metadata. */
  certificate: string;
  /** What its ACS made of each posted response. */
  results: { profile?: Profile | null; error?: string; relayState?: string; raw: string }[];
  /** What its single logout URL made of each logout message (node-saml's HTTP-Redirect validation). */
  logouts: { kind: 'request' | 'response'; nameID?: string; sessionIndex?: string; loggedOut?: boolean; error?: string }[];
  /** A LogoutRequest URL for the user of `profile`, as node-saml's logout sends it. */
  logoutUrl(profile: Profile): Promise<string>;
  /** Its metadata, with or without its signing certificate and AuthnRequestsSigned. */
  metadata(opts?: { signing?: boolean }): string;
  /** The SP's node-saml client for a Latchkey IdP (SSO URL and certificates from Latchkey's metadata). */
  configure(idp: { ssoUrl: string; sloUrl: string; certificates: string[] }, opts?: { binding?: 'HTTP-Redirect' | 'HTTP-POST'; sign?: boolean; unsolicited?: boolean; forceAuthn?: boolean; nameIdFormat?: string }): void;
  close(): Promise<void>;
}

function body(req: IncomingMessage): Promise<Record<string, string>> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')))));
  });
}

export async function startSamlSp(): Promise<SamlSp> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const cert = await deriveCertificate({ kid: 'test-sp', tenantId: 'sp', createdAt: Date.now() }, privateKey);
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  let saml: SAML | undefined;
  const results: SamlSp['results'] = [];
  const logouts: SamlSp['logouts'] = [];
  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (url.pathname === '/login' && saml) {
        const relay = url.searchParams.get('relay') ?? 'from-login';
        if (saml.options.authnRequestBinding === 'HTTP-POST') {
          res.writeHead(200, { 'content-type': 'text/html' }).end(await saml.getAuthorizeFormAsync(relay, undefined, {}));
        } else {
          res.writeHead(302, { location: await saml.getAuthorizeUrlAsync(relay, undefined, {}) }).end();
        }
        return;
      }
      if (url.pathname === '/acs' && req.method === 'POST' && saml) {
        const form = await body(req);
        try {
          const { profile } = await saml.validatePostResponseAsync({ SAMLResponse: form.SAMLResponse ?? '' });
          results.push({ profile, ...(form.RelayState !== undefined ? { relayState: form.RelayState } : {}), raw: form.SAMLResponse ?? '' });
          res.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html><title>SP</title><h1>Signed in as ${profile?.nameID ?? '?'}</h1>`);
        } catch (err) {
          results.push({ error: (err as Error).message, raw: form.SAMLResponse ?? '' });
          res.writeHead(403, { 'content-type': 'text/html' }).end('<!doctype html><title>SP</title><h1>Refused</h1>');
        }
        return;
      }
      if (url.pathname === '/slo' && saml) {
        const kind = url.searchParams.has('SAMLRequest') ? 'request' : 'response';
        try {
          const { profile, loggedOut } = await saml.validateRedirectAsync(Object.fromEntries(url.searchParams), url.search.slice(1));
          logouts.push({ kind, ...(profile?.nameID ? { nameID: profile.nameID } : {}), ...(profile?.sessionIndex ? { sessionIndex: profile.sessionIndex } : {}), loggedOut });
        } catch (err) {
          logouts.push({ kind, error: (err as Error).message });
        }
      }
      res.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html><title>SP</title><h1>SP ${url.pathname}</h1>`);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const entityId = `${base}/metadata`;
  const acsUrl = `${base}/acs`;
  const sloUrl = `${base}/slo`;
  const sp: SamlSp = {
    url: base,
    entityId,
    acsUrl,
    sloUrl,
    certificate: cert.base64,
    results,
    logouts,
    logoutUrl: (profile) => saml!.getLogoutUrlAsync(profile, 'bye', {}),
    metadata(opts = {}) {
      const client = new SAML({ issuer: entityId, callbackUrl: acsUrl, idpCert: 'unused', logoutCallbackUrl: sloUrl, ...(opts.signing ? { privateKey: pem } : {}) });
      return client.generateServiceProviderMetadata(null, opts.signing ? cert.pem : null);
    },
    configure(idp, opts = {}) {
      saml = new SAML({
        entryPoint: idp.ssoUrl,
        logoutUrl: idp.sloUrl,
        issuer: entityId,
        callbackUrl: acsUrl,
        audience: entityId,
        idpCert: idp.certificates,
        identifierFormat: opts.nameIdFormat ?? 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
        wantAuthnResponseSigned: true,
        wantAssertionsSigned: true,
        validateInResponseTo: opts.unsolicited ? ValidateInResponseTo.ifPresent : ValidateInResponseTo.always,
        authnRequestBinding: opts.binding ?? 'HTTP-Redirect',
        forceAuthn: opts.forceAuthn ?? false,
        ...(opts.sign ? { privateKey: pem, signatureAlgorithm: 'sha256' as const, digestAlgorithm: 'sha256' } : {}),
      });
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  return sp;
}

/** The IdP side of Latchkey's metadata, read with a plain parser (not Latchkey's): SSO/SLO URLs and certificates. */
export async function latchkeyIdpMetadata(url: string): Promise<{ entityId: string; ssoUrl: string; sloUrl: string; certificates: string[]; xml: string }> {
  const xml = await (await fetch(url)).text();
  const entityId = /entityID="([^"]+)"/.exec(xml)![1]!;
  const ssoUrl = /SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="([^"]+)"/.exec(xml)![1]!;
  const sloUrl = /SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="([^"]+)"/.exec(xml)![1]!;
  const certificates = [...xml.matchAll(/<ds:X509Certificate>([^<]+)<\/ds:X509Certificate>/g)].map((m) => m[1]!);
  return { entityId, ssoUrl, sloUrl, certificates, xml };
}
