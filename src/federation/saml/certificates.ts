import { createHash, createPrivateKey, createPublicKey, webcrypto, type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import type { SecretBox } from '../../crypto/secrets.js';
import type { Clock } from '../../model/clock.js';
import type { Store } from '../../store/store.js';
import type { SigningKey } from '../../model/entities.js';
import { publishedKeys, type KeyRing } from '../../tokens/keyring.js';

/**
 * SAML carries keys as X.509 certificates (metadata KeyDescriptor, the signature's KeyInfo), where
 * Latchkey's signing keys are JWKs. Each key gets a self-signed certificate derived from the key alone
 * (pkijs builds it): the subject, serial and validity come from the key's id, tenant and creation time,
 * and RSASSA-PKCS1-v1_5 signatures are deterministic, so every instance and every restart derives the
 * very same certificate and nothing new is stored. SPs pin the certificate from the metadata; its
 * validity dates are informational (SAML metadata trust does not chain to a CA).
 */

const ALG = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;
const TEN_YEARS_MS = 10 * 365 * 86_400_000;
const engine = new pkijs.CryptoEngine({ name: 'node', crypto: webcrypto as unknown as Crypto });

/** The certificate of one signing key: DER as base64 (metadata, KeyInfo) and PEM (libraries). */
export interface KeyCertificate {
  kid: string;
  base64: string;
  pem: string;
}

export function pemOf(base64Der: string): string {
  return `-----BEGIN CERTIFICATE-----\n${base64Der.match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
}

/** Base64 DER of a certificate given as PEM or bare base64 (whitespace ignored). */
export function certificateBase64(text: string): string {
  return text.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
}

/** Derives the self-signed certificate of `key` (its private key opened by the caller). */
export async function deriveCertificate(key: Pick<SigningKey, 'kid' | 'tenantId' | 'createdAt'>, privateKey: KeyObject): Promise<KeyCertificate> {
  const priv = await webcrypto.subtle.importKey('pkcs8', privateKey.export({ type: 'pkcs8', format: 'der' }), ALG, false, ['sign']);
  const pub = await webcrypto.subtle.importKey('spki', createPublicKey(privateKey).export({ type: 'spki', format: 'der' }), ALG, true, ['verify']);
  const cert = new pkijs.Certificate();
  cert.version = 2;
  // A positive 16-byte serial from the key id.
  const serial = createHash('sha256').update(key.kid).digest().subarray(0, 16);
  serial[0] = serial[0]! & 0x7f;
  cert.serialNumber = new asn1js.Integer({ valueHex: serial });
  const name = () => new pkijs.AttributeTypeAndValue({ type: '2.5.4.3', value: new asn1js.Utf8String({ value: `Latchkey ${key.tenantId} ${key.kid.slice(0, 16)}` }) });
  cert.subject.typesAndValues.push(name());
  cert.issuer.typesAndValues.push(name());
  const from = Math.floor(key.createdAt / 1000) * 1000;
  cert.notBefore.value = new Date(from);
  cert.notAfter.value = new Date(from + TEN_YEARS_MS);
  await cert.subjectPublicKeyInfo.importKey(pub, engine);
  await cert.sign(priv, 'SHA-256', engine);
  const base64 = Buffer.from(cert.toSchema().toBER(false)).toString('base64');
  return { kid: key.kid, base64, pem: pemOf(base64) };
}

/** What SAML signs with and publishes for a tenant. */
export interface SamlKeys {
  /** The active key and its certificate: what responses and requests are signed with. */
  signing: { key: KeyObject; certificate: KeyCertificate };
  /** Every published key's certificate, the active one first (metadata lists them all, so a rotation is seen before use). */
  published: KeyCertificate[];
}

/** Certificates by kid (derived once: they never change), and the tenants' key sets by key-ring version; per store, so per app instance. */
const caches = new WeakMap<object, { certs: Map<string, Promise<KeyCertificate>>; sets: Map<string, Promise<SamlKeys>> }>();

export async function samlKeys(deps: { store: Store; keys: KeyRing; secrets: SecretBox; clock: Clock }, tenantId: string): Promise<SamlKeys> {
  let cache = caches.get(deps.store);
  if (!cache) caches.set(deps.store, (cache = { certs: new Map(), sets: new Map() }));
  const ring = await deps.keys.forTenant(tenantId);
  const setKey = `${tenantId}|${ring.version}|${ring.active.kid}|${[...ring.verifyKeys.keys()].join(',')}`;
  let set = cache.sets.get(setKey);
  if (!set) {
    const certs = cache.certs;
    set = (async () => {
      const keys = publishedKeys(await deps.store.listSigningKeys(tenantId), deps.clock.now());
      const certOf = (k: SigningKey) => {
        let c = certs.get(k.kid);
        if (!c) {
          c = deriveCertificate(k, createPrivateKey(deps.secrets.open(k.privateKey)));
          certs.set(k.kid, c);
        }
        return c;
      };
      const active = keys.find((k) => k.kid === ring.active.kid);
      if (!active) throw new Error(`tenant ${tenantId}: the active signing key is not stored`);
      const others = keys.filter((k) => k.kid !== active.kid);
      const activeCert = await certOf(active);
      return { signing: { key: ring.active.key, certificate: activeCert }, published: [activeCert, ...(await Promise.all(others.map(certOf)))] };
    })();
    set.catch(() => cache!.sets.delete(setKey));
    if (cache.sets.size > 1000) cache.sets.clear();
    cache.sets.set(setKey, set);
  }
  return set;
}
