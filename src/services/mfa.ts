import { randomInt, randomUUID } from 'node:crypto';
import { accountName } from '../model/local-identities.js';
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';

/**
 * The WebAuthn library, loaded on first use: it takes longer to load than the rest of Latchkey's
 * modules together, and most CLI commands and many servers never register a passkey.
 */
let webauthnModule: Promise<typeof import('@simplewebauthn/server')> | undefined;
const webauthn = () => (webauthnModule ??= import('@simplewebauthn/server'));
import { generateSecret, generateURI, verify as verifyOtp } from 'otplib';
import QRCode from 'qrcode';
import { safeEqual, sha256 } from '../crypto/secrets.js';
import type { Site } from '../model/site.js';
import type { Deps } from './deps.js';
import type { Policy } from '../model/policy.js';
import type { AmrValue } from '../tokens/amr.js';
import { recordLoginFailure } from './local-auth.js';
import { StoreConflictError } from '../store/store.js';
import { type Authenticator, type AuthenticatorKind, type Tenant, type User } from '../model/entities.js';

/**
 * Second factors and passkeys: the rules every page that asks for or enrols one shares (the sign-in
 * journey's MFA step, profile edit's security settings) and the CLI's support-desk commands.
 */

export type MfaMethod = 'email' | 'totp' | 'passkey';

export type { AmrValue } from '../tokens/amr.js';

// ---------------------------------------------------------------- authenticator app (TOTP)

/** A fresh TOTP secret (base32, 160 bits, what authenticator apps expect). */
export function newTotpSecret(): string {
  return generateSecret({ length: 20 });
}

/** The otpauth:// URI an authenticator app scans, and its QR code as inline SVG (drawn here: no outside service). */
export async function totpEnrolment(issuer: string, account: string, secret: string): Promise<{ uri: string; qrSvg: string }> {
  const uri = generateURI({ issuer, label: account, secret });
  const qrSvg = await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2, width: 200 });
  return { uri, qrSvg };
}

/** Codes one period either side are accepted (clock drift); each time step once (replay). */
const TOTP_TOLERANCE_SECONDS = 30;

/** Checks a code against a secret; the time step it matched, or undefined. */
export async function totpStep(secret: string, code: string, epochSeconds: number, afterTimeStep?: number): Promise<number | undefined> {
  if (!/^\d{6}$/.test(code)) return undefined;
  const result = await verifyOtp({ secret, token: code, epoch: epochSeconds, epochTolerance: TOTP_TOLERANCE_SECONDS, ...(afterTimeStep !== undefined ? { afterTimeStep } : {}) });
  return result.valid && 'timeStep' in result ? result.timeStep : undefined;
}

interface TotpData {
  /** The secret, sealed under the master key. */
  secret: string;
  /** The last time step used: a code of that step or earlier is refused (replay). */
  lastStep: number;
}

// ---------------------------------------------------------------- recovery codes

export const RECOVERY_CODE_COUNT = 10;
const RECOVERY_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';

/** Ten codes of 10 characters (about 49 bits each), shown once; grouped as xxxxx-xxxxx. */
export function newRecoveryCodes(): string[] {
  return Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    let c = '';
    for (let i = 0; i < 10; i++) c += RECOVERY_ALPHABET[randomInt(RECOVERY_ALPHABET.length)];
    return `${c.slice(0, 5)}-${c.slice(5)}`;
  });
}

const normalizeRecoveryCode = (code: string) => code.toLowerCase().replace(/[^a-z0-9]/g, '');
/** Salted with the user's id, so equal codes of two users hash apart. */
const recoveryHash = (userId: string, code: string) => sha256(`${userId}:${normalizeRecoveryCode(code)}`);

interface RecoveryData {
  /** Hashes of the codes not used yet. */
  unused: string[];
}

// ---------------------------------------------------------------- passkeys (WebAuthn)

interface PasskeyData {
  publicKey: string;
  counter: number;
  transports: string[];
  deviceType: 'singleDevice' | 'multiDevice';
  backedUp: boolean;
  /**
   * The relying party (host) it was made on: a passkey belongs to that host and is offered only there.
   * Absent for passkeys made before tenants had hosts of their own: the shared host's.
   */
  rpId?: string;
}

/**
 * The relying party: the host the browser is on (LATCHKEY_BASE_URL's, or a host of the tenant's own),
 * and its origin (what browsers put in clientDataJSON).
 */
function relyingParty(baseUrl: string): { rpID: string; origin: string } {
  const base = new URL(baseUrl);
  return { rpID: base.hostname, origin: base.origin };
}

/** A passkey that lives on one device is a hardware-held key (`hwk`); a synced one is software-held (`swk`). */
const passkeyAmr = (data: Pick<PasskeyData, 'deviceType'>): AmrValue => (data.deviceType === 'singleDevice' ? 'hwk' : 'swk');

// ---------------------------------------------------------------- the service

export type FactorCheck = { ok: true; amr: AmrValue } | { ok: false; reason: 'wrong' | 'replayed' | 'locked' };

/** Second-factor attempts are limited per user as passwords are per sign-in name (same threshold and lock). */
const throttleKey = (userId: string) => `mfa:${userId}`;

export type MfaDeps = Pick<Deps, 'store' | 'clock' | 'secrets' | 'audit'>;

/** Stateless: made where needed (`mfaService(deps, site)`); the support-desk CLI makes one without a base URL. */
export class MfaService {
  constructor(
    private readonly deps: MfaDeps,
    /** Where the browser is (the request's site): its host is the passkeys' relying-party id. */
    private readonly baseUrl = 'http://localhost',
    /** LATCHKEY_BASE_URL's host: the relying party of passkeys made before they recorded theirs. */
    private readonly sharedRpId = new URL(baseUrl).hostname,
  ) {}

  /** Whether an authenticator is a passkey of this host (one made on another host cannot be used here). */
  passkeyHere(a: Authenticator): boolean {
    return a.kind === 'passkey' && ((a.data as unknown as PasskeyData).rpId ?? this.sharedRpId) === relyingParty(this.baseUrl).rpID;
  }

  async authenticators(tenant: Tenant, userId: string): Promise<Authenticator[]> {
    return this.deps.store.listAuthenticators(tenant.id, userId);
  }

  /** Whether the user's second-factor attempts are locked now. */
  async locked(tenant: Tenant, userId: string): Promise<boolean> {
    return (await this.deps.store.getLoginThrottle(tenant.id, throttleKey(userId))).lockedUntil > this.deps.clock.now();
  }

  /** Counts a wrong code; says whether the user is now locked out. */
  private async failed(tenant: Tenant, user: User, method: string, ip: string, clientId: string | null): Promise<FactorCheck> {
    const { store, clock, audit } = this.deps;
    const now = clock.now();
    const t = await recordLoginFailure(store, tenant.id, throttleKey(user.id), now);
    await audit.record({ tenantId: tenant.id, event: 'mfa_challenge', outcome: 'failure', subject: user.id, clientId, ip, detail: `${method}: wrong code` });
    if (t.lockedUntil > now) {
      await audit.record({ tenantId: tenant.id, event: 'lockout', outcome: 'success', subject: user.id, clientId, ip, detail: `second factor locked for ${Math.round((t.lockedUntil - now) / 1000)} s` });
      return { ok: false, reason: 'locked' };
    }
    return { ok: false, reason: 'wrong' };
  }

  /** A second factor passed: the failure count starts again, and the use is audited. */
  async succeeded(tenant: Tenant, user: User, method: string, ip: string, clientId: string | null): Promise<void> {
    await this.deps.store.clearLoginFailures(tenant.id, throttleKey(user.id));
    await this.deps.audit.record({ tenantId: tenant.id, event: 'mfa_challenge', outcome: 'success', subject: user.id, clientId, ip, detail: method });
  }

  /** A failed e-mail code counts towards the same lockout as the other factors. */
  async emailCodeFailed(tenant: Tenant, user: User, ip: string, clientId: string | null): Promise<FactorCheck> {
    return this.failed(tenant, user, 'email', ip, clientId);
  }

  // TOTP

  /** Confirms an enrolment with its first code and stores the (sealed) secret; replaces an earlier app. */
  async enrolTotp(tenant: Tenant, user: User, secret: string, code: string, ctx: { ip: string; clientId: string | null }): Promise<boolean> {
    const { store, clock, secrets, audit } = this.deps;
    const step = await totpStep(secret, code.trim(), Math.floor(clock.now() / 1000));
    if (step === undefined) return false;
    const data: TotpData = { secret: secrets.seal(secret), lastStep: step };
    await store.replaceAuthenticators(tenant.id, user.id, ['totp'], [this.record(tenant, user.id, 'totp', { data: { ...data }, label: 'Authenticator app' })]);
    await audit.record({ tenantId: tenant.id, event: 'mfa_enrolled', outcome: 'success', subject: user.id, clientId: ctx.clientId, ip: ctx.ip, detail: 'totp' });
    return true;
  }

  async checkTotp(tenant: Tenant, user: User, code: string, ctx: { ip: string; clientId: string | null }): Promise<FactorCheck> {
    const { store, clock, secrets } = this.deps;
    if (await this.locked(tenant, user.id)) return { ok: false, reason: 'locked' };
    const app = (await store.listAuthenticators(tenant.id, user.id)).find((a) => a.kind === 'totp');
    if (!app) return this.failed(tenant, user, 'totp', ctx.ip, ctx.clientId);
    const data = app.data as unknown as TotpData;
    const secret = secrets.open(data.secret);
    const now = Math.floor(clock.now() / 1000);
    const step = await totpStep(secret, code.trim(), now, data.lastStep);
    if (step === undefined) {
      // A code that was right but already used: said so (and counted), so a shoulder-surfed code is worth nothing.
      if ((await totpStep(secret, code.trim(), now)) !== undefined) {
        await this.failed(tenant, user, 'totp', ctx.ip, ctx.clientId);
        return { ok: false, reason: (await this.locked(tenant, user.id)) ? 'locked' : 'replayed' };
      }
      return this.failed(tenant, user, 'totp', ctx.ip, ctx.clientId);
    }
    // Compare-and-set: of two requests with the same code, one wins.
    if (!(await store.useAuthenticator(tenant.id, app.id, app.version, { ...data, lastStep: step }, clock.now()))) {
      return { ok: false, reason: 'replayed' };
    }
    await this.succeeded(tenant, user, 'totp', ctx.ip, ctx.clientId);
    return { ok: true, amr: 'otp' };
  }

  // recovery codes

  /** New recovery codes replace the old ones; the codes are returned once, only their hashes kept. */
  async regenerateRecoveryCodes(tenant: Tenant, user: User, ctx: { ip: string | null; clientId: string | null }): Promise<string[]> {
    const codes = newRecoveryCodes();
    const data: RecoveryData = { unused: codes.map((c) => recoveryHash(user.id, c)) };
    await this.deps.store.replaceAuthenticators(tenant.id, user.id, ['recovery'], [this.record(tenant, user.id, 'recovery', { data: { ...data }, label: 'Recovery codes' })]);
    await this.deps.audit.record({ tenantId: tenant.id, event: 'recovery_codes_generated', outcome: 'success', subject: user.id, clientId: ctx.clientId, ip: ctx.ip, detail: `${codes.length} codes` });
    return codes;
  }

  async useRecoveryCode(tenant: Tenant, user: User, code: string, ctx: { ip: string; clientId: string | null }): Promise<FactorCheck> {
    const { store, clock } = this.deps;
    if (await this.locked(tenant, user.id)) return { ok: false, reason: 'locked' };
    const record = (await store.listAuthenticators(tenant.id, user.id)).find((a) => a.kind === 'recovery');
    const unused = ((record?.data as unknown as RecoveryData | undefined)?.unused ?? []).slice();
    const hash = recoveryHash(user.id, code);
    const index = normalizeRecoveryCode(code).length === 10 ? unused.findIndex((h) => safeEqual(h, hash)) : -1;
    if (!record || index < 0) return this.failed(tenant, user, 'recovery code', ctx.ip, ctx.clientId);
    unused.splice(index, 1);
    if (!(await store.useAuthenticator(tenant.id, record.id, record.version, { unused }, clock.now()))) return { ok: false, reason: 'replayed' };
    await this.succeeded(tenant, user, `recovery code (${unused.length} left)`, ctx.ip, ctx.clientId);
    return { ok: true, amr: 'otp' };
  }

  /** How many recovery codes the user has left (undefined: none were ever made). */
  static recoveryCodesLeft(list: Authenticator[]): number | undefined {
    const r = list.find((a) => a.kind === 'recovery');
    return r ? ((r.data as unknown as RecoveryData).unused ?? []).length : undefined;
  }

  // e-mail codes

  async setEmailFactor(tenant: Tenant, user: User, on: boolean, ctx: { ip: string; clientId: string | null }): Promise<void> {
    await this.deps.store.replaceAuthenticators(tenant.id, user.id, ['email'], on ? [this.record(tenant, user.id, 'email', { label: 'E-mail codes' })] : []);
    await this.deps.audit.record({ tenantId: tenant.id, event: on ? 'mfa_enrolled' : 'mfa_removed', outcome: 'success', subject: user.id, clientId: ctx.clientId, ip: ctx.ip, detail: 'email' });
  }

  // passkeys

  /** Options for navigator.credentials.create(): a discoverable credential, user verification required. */
  async passkeyRegistrationOptions(tenant: Tenant, user: User): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const { rpID } = relyingParty(this.baseUrl);
    const existing = (await this.deps.store.listAuthenticators(tenant.id, user.id)).filter((a) => this.passkeyHere(a));
    const name = accountName(user);
    return (await webauthn()).generateRegistrationOptions({
      rpName: tenant.displayName,
      rpID,
      userName: name,
      userDisplayName: user.displayName ?? name,
      // The user handle is the user's id: a discoverable credential names its user at sign-in.
      userID: new TextEncoder().encode(user.id),
      attestationType: 'none',
      excludeCredentials: existing.map((a) => ({ id: a.credentialId!, transports: (a.data as unknown as PasskeyData).transports })),
      authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
    });
  }

  async registerPasskey(
    tenant: Tenant,
    user: User,
    response: RegistrationResponseJSON,
    expectedChallenge: string,
    ctx: { ip: string; clientId: string | null },
  ): Promise<{ ok: true; amr: AmrValue } | { ok: false; reason: 'invalid' | 'taken' }> {
    const { origin, rpID } = relyingParty(this.baseUrl);
    const fail = async (reason: 'invalid' | 'taken', detail: string) => {
      await this.deps.audit.record({ tenantId: tenant.id, event: 'passkey_registered', outcome: 'failure', subject: user.id, clientId: ctx.clientId, ip: ctx.ip, detail });
      return { ok: false as const, reason };
    };
    let verified;
    try {
      verified = await (await webauthn()).verifyRegistrationResponse({ response, expectedChallenge, expectedOrigin: origin, expectedRPID: rpID, requireUserVerification: true });
    } catch (err) {
      return fail('invalid', (err as Error).message.slice(0, 200));
    }
    if (!verified.verified) return fail('invalid', 'not verified');
    const info = verified.registrationInfo;
    const data: PasskeyData = {
      publicKey: Buffer.from(info.credential.publicKey).toString('base64url'),
      counter: info.credential.counter,
      transports: info.credential.transports ?? [],
      deviceType: info.credentialDeviceType,
      backedUp: info.credentialBackedUp,
      rpId: rpID,
    };
    const list = await this.deps.store.listAuthenticators(tenant.id, user.id);
    // The host is in the name: a passkey works on the host it was made on only.
    const label = `Passkey ${list.filter((a) => a.kind === 'passkey').length + 1} (${new Date(this.deps.clock.now()).toISOString().slice(0, 10)}, ${rpID})`;
    try {
      await this.deps.store.replaceAuthenticators(tenant.id, user.id, [], [this.record(tenant, user.id, 'passkey', { credentialId: info.credential.id, label, data: { ...data } })]);
    } catch (err) {
      if (err instanceof StoreConflictError) return fail('taken', 'credential already registered');
      throw err;
    }
    await this.deps.audit.record({ tenantId: tenant.id, event: 'passkey_registered', outcome: 'success', subject: user.id, clientId: ctx.clientId, ip: ctx.ip, detail: `${label}, ${data.deviceType}` });
    return { ok: true, amr: passkeyAmr(data) };
  }

  /**
   * Options for navigator.credentials.get(): with `user`, that user's passkeys (as a second factor);
   * without, any discoverable credential of this site (sign-in with a passkey, autofill).
   */
  async passkeyAuthenticationOptions(tenant: Tenant, user?: User): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const { rpID } = relyingParty(this.baseUrl);
    const allow = user ? (await this.deps.store.listAuthenticators(tenant.id, user.id)).filter((a) => this.passkeyHere(a)) : [];
    return (await webauthn()).generateAuthenticationOptions({
      rpID,
      userVerification: 'required',
      ...(user ? { allowCredentials: allow.map((a) => ({ id: a.credentialId!, transports: (a.data as unknown as PasskeyData).transports })) } : {}),
    });
  }

  /**
   * Checks a passkey assertion against the stored credential (and, as a second factor, that it is
   * `expectedUser`'s). The signature counter is stored compare-and-set, so a replayed assertion fails.
   */
  async verifyPasskey(
    tenant: Tenant,
    response: AuthenticationResponseJSON,
    expectedChallenge: string,
    ctx: { ip: string; clientId: string | null; expectedUser?: User },
  ): Promise<{ ok: true; user: User; amr: AmrValue } | { ok: false; reason: 'invalid' | 'unknown' | 'locked' }> {
    const { store, clock, audit } = this.deps;
    const { origin, rpID } = relyingParty(this.baseUrl);
    const record = typeof response?.id === 'string' ? await store.findAuthenticatorByCredential(tenant.id, response.id) : undefined;
    const user = record && (await store.findUser(tenant.id, record.userId));
    const base = { tenantId: tenant.id, clientId: ctx.clientId, ip: ctx.ip };
    if (!record || !this.passkeyHere(record) || !user || user.disabled || (ctx.expectedUser && ctx.expectedUser.id !== user.id)) {
      await audit.record({ ...base, event: 'passkey_signin', outcome: 'failure', subject: ctx.expectedUser?.id ?? null, detail: 'unknown credential' });
      return { ok: false, reason: 'unknown' };
    }
    if (await this.locked(tenant, user.id)) return { ok: false, reason: 'locked' };
    const data = record.data as unknown as PasskeyData;
    let result;
    try {
      result = await (await webauthn()).verifyAuthenticationResponse({
        response,
        expectedChallenge,
        expectedOrigin: origin,
        expectedRPID: rpID,
        credential: { id: record.credentialId!, publicKey: Buffer.from(data.publicKey, 'base64url'), counter: data.counter, transports: data.transports as never },
        requireUserVerification: true,
      });
    } catch (err) {
      await audit.record({ ...base, event: 'passkey_signin', outcome: 'failure', subject: user.id, detail: (err as Error).message.slice(0, 200) });
      return { ok: false, reason: 'invalid' };
    }
    if (!result.verified || !(await store.useAuthenticator(tenant.id, record.id, record.version, { ...data, counter: result.authenticationInfo.newCounter }, clock.now()))) {
      await audit.record({ ...base, event: 'passkey_signin', outcome: 'failure', subject: user.id, detail: 'not verified' });
      return { ok: false, reason: 'invalid' };
    }
    await store.clearLoginFailures(tenant.id, throttleKey(user.id));
    await audit.record({ ...base, event: 'passkey_signin', outcome: 'success', subject: user.id, detail: record.label });
    return { ok: true, user, amr: passkeyAmr(data) };
  }

  /** Removes one of the user's authenticators (profile edit), audited. */
  async remove(tenant: Tenant, user: User, id: string, ctx: { ip: string; clientId: string | null }): Promise<boolean> {
    const list = await this.deps.store.listAuthenticators(tenant.id, user.id);
    const a = list.find((x) => x.id === id);
    if (!a || a.kind === 'recovery') return false;
    await this.deps.store.removeAuthenticators(tenant.id, user.id, id);
    await this.deps.audit.record({ tenantId: tenant.id, event: 'mfa_removed', outcome: 'success', subject: user.id, clientId: ctx.clientId, ip: ctx.ip, detail: a.label ?? a.kind });
    return true;
  }

  /** Support desk: removes everything the user enrolled (and ends lockouts); audited with who did it. */
  async reset(tenant: Tenant, user: User, by: string): Promise<number> {
    const n = await this.deps.store.removeAuthenticators(tenant.id, user.id);
    await this.deps.store.clearLoginFailures(tenant.id, throttleKey(user.id));
    await this.deps.audit.record({ tenantId: tenant.id, event: 'mfa_reset', outcome: 'success', subject: user.id, detail: `${n} authenticators removed by ${by}` });
    return n;
  }

  private record(tenant: Tenant, userId: string, kind: AuthenticatorKind, o: { credentialId?: string; label?: string; data?: Record<string, unknown> }): Authenticator {
    return {
      id: randomUUID(),
      tenantId: tenant.id,
      userId,
      kind,
      credentialId: o.credentialId ?? null,
      label: o.label ?? null,
      data: o.data ?? {},
      version: 0,
      createdAt: this.deps.clock.now(),
      lastUsedAt: null,
    };
  }
}

/** The second factors as the browser's host sees them (passkeys belong to the host they were made on). */
export function mfaService(deps: Deps, site: Site): MfaService {
  return new MfaService(deps, site.baseUrl, new URL(deps.config.baseUrl).hostname);
}

/**
 * Whether a sign-in under `policy` must still prove a second factor, given what it proved (`amr`):
 * always under `required`; under `optional` when the user enrolled one of the policy's methods.
 */
export async function secondFactorDue(deps: Pick<Deps, 'store'>, tenant: Tenant, policy: Policy, user: User, amr: readonly string[]): Promise<boolean> {
  if (policy.mfa.mode === 'off' || amr.includes('mfa')) return false;
  if (policy.mfa.mode === 'required') return true;
  return (await deps.store.listAuthenticators(tenant.id, user.id)).some((a) => (policy.mfa.methods as readonly string[]).includes(a.kind));
}
