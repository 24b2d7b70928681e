import { importedHash } from '../crypto/foreign-hashes.js';
import { normalizeLocalName, normalizePhone } from '../store/normalize.js';
import type { ImportedUser, LocalIdentity, Tenant, User, UserIdentity } from '../model/entities.js';
import { BUILTIN_ATTRIBUTES, EXTENSION_ATTRIBUTE, extensionsAppIdOf, graphIdentities, isLocalIssuer, localIssuer, type GraphIdentity } from '../model/graph-user.js';
import { E164, hasLocalAccount } from '../model/local-identities.js';
import { EMAIL, GUID } from '../model/patterns.js';

/**
 * Users in Microsoft Graph's shape, as B2C back offices and `GET /v1.0/users?$select=…` see them, and
 * back: what `user import` reads, `user export` writes, and the Graph-compatible API speaks.
 *
 * - `id` is the user's `oid` (and so `sub`); kept as it is.
 * - `identities[]`: `emailAddress`, `userName` and `phoneNumber` are local identities (any number, side
 *   by side; their issuer is the tenant's `{name}.onmicrosoft.com`), `federated` an account at an
 *   upstream provider (`issuer` as B2C stored it: a domain or a URL, `issuerAssignedId` its id there);
 *   B2C's technical `userPrincipalName` identity is left out.
 * - `mail` and `otherMails` are the user's addresses (a social account's is in otherMails).
 * - `extension_<appId>_<name>` attributes become custom attributes named `<name>`; B2C's built-in user
 *   attributes (`country`, `city`…) keep their names.
 * - `passwordProfile.forceChangePasswordNextSignIn: true`: the next sign-in asks for a new password.
 * - `passwordHash` (not Graph's: B2C never exports hashes) carries a hash from another system.
 * - PowerShell's `Get-MgUser | ConvertTo-Json` is the same in PascalCase, with extension attributes
 *   under `AdditionalProperties` (fromPowerShell reads it as Graph's).
 */
export type FromGraph = { user: ImportedUser; extensionsAppId?: string } | { error: string };

function text(row: Record<string, unknown>, name: string, max = 256): string | null | { error: string } {
  const v = row[name];
  if (v === undefined || v === null || v === '') return null;
  if (typeof v !== 'string') return { error: `${name} must be a string` };
  if (v.length > max) return { error: `${name} is longer than ${max} characters` };
  return v;
}

const camel = (key: string): string => (/^[A-Z][a-z]/.test(key) || /^[A-Z]$/.test(key) ? key[0]!.toLowerCase() + key.slice(1) : key);

/** What ConvertTo-Json writes for an object below its -Depth (2 by default): the type's name, not the object. */
const CUT_OFF = /^Microsoft\.Graph\.PowerShell\.Models\./;

/**
 * A user as PowerShell's `Get-MgUser | ConvertTo-Json` writes it, in Graph's names: PascalCase properties
 * in camelCase (`Identities[].SignInType` too), what `AdditionalProperties` holds (extension attributes)
 * beside them, and Windows PowerShell's dates (`/Date(ms)/`) as ISO dates. A Graph-shaped user is
 * returned as it is.
 */
export function fromPowerShell(input: unknown): unknown {
  if (!input || typeof input !== 'object' || Array.isArray(input)) return input;
  const row = input as Record<string, unknown>;
  if (!('Id' in row) || 'id' in row) return input;
  const out: Record<string, unknown> = {};
  const nested = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(nested);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v as Record<string, unknown>).filter(([k]) => k !== 'AdditionalProperties').map(([k, x]) => [camel(k), x]));
    return v;
  };
  for (const [key, value] of Object.entries(row)) {
    if (key === 'AdditionalProperties') continue;
    out[camel(key)] = key === 'Identities' || key === 'PasswordProfile' ? nested(value) : value;
  }
  const extra = row.AdditionalProperties;
  if (extra && typeof extra === 'object' && !Array.isArray(extra)) {
    for (const [key, value] of Object.entries(extra as Record<string, unknown>)) if (!(key in out)) out[key] = value;
  }
  const date = typeof out.createdDateTime === 'string' ? /^\/Date\((-?\d+)\)\/$/.exec(out.createdDateTime) : null;
  if (date) out.createdDateTime = new Date(Number(date[1])).toISOString();
  return out;
}

/** Reads one Graph user (or PowerShell's); everything wrong with it becomes the one reason it is refused. */
export function userFromGraph(tenant: Tenant, input: unknown, now: number): FromGraph {
  const converted = fromPowerShell(input);
  if (!converted || typeof converted !== 'object' || Array.isArray(converted)) return { error: 'not a JSON object' };
  const row = converted as Record<string, unknown>;
  if (typeof row.id !== 'string' || !GUID.test(row.id)) return { error: 'id must be the user\'s object id (a GUID)' };
  const id = row.id.toLowerCase();

  const strings: Record<string, string | null> = {};
  for (const name of ['displayName', 'givenName', 'surname', 'mail']) {
    const v = text(row, name);
    if (v !== null && typeof v === 'object') return { error: v.error };
    strings[name] = v;
  }
  if (strings.mail !== null && !EMAIL.test(strings.mail!)) return { error: `mail '${strings.mail}' is not an email address` };
  if (row.accountEnabled !== undefined && row.accountEnabled !== null && typeof row.accountEnabled !== 'boolean') return { error: 'accountEnabled must be true or false' };
  const otherMails: string[] = [];
  if (row.otherMails !== undefined && row.otherMails !== null) {
    if (!Array.isArray(row.otherMails)) return { error: 'otherMails must be an array of addresses' };
    if (row.otherMails.length > 250) return { error: 'otherMails has more than 250 addresses' };
    for (const m of row.otherMails) {
      if (typeof m !== 'string' || !EMAIL.test(m.trim())) return { error: `otherMails: '${String(m)}' is not an email address` };
      if (!otherMails.some((o) => o.toLowerCase() === m.trim().toLowerCase())) otherMails.push(m.trim());
    }
  }

  const identities = row.identities ?? [];
  if (!Array.isArray(identities)) return { error: 'identities must be an array' };
  const local: LocalIdentity[] = [];
  const seen = new Set<string>();
  const upstream: UserIdentity[] = [];
  for (const [i, raw] of identities.entries()) {
    if (typeof raw === 'string' && CUT_OFF.test(raw)) return { error: `identities[${i}] is '${raw}', not an identity: ConvertTo-Json cut it off at its default depth; export again with ConvertTo-Json -Depth 5` };
    const ident = raw as Partial<GraphIdentity> | null;
    if (!ident || typeof ident.signInType !== 'string' || typeof ident.issuerAssignedId !== 'string' || ident.issuerAssignedId === '' || ident.issuerAssignedId.length > 256) {
      return { error: `identities[${i}] needs signInType, issuer and issuerAssignedId` };
    }
    switch (ident.signInType) {
      case 'emailAddress':
      case 'userName':
      case 'phoneNumber': {
        if (typeof ident.issuer === 'string' && ident.issuer !== '' && !isLocalIssuer(tenant, ident.issuer)) {
          return { error: `identities[${i}]: a local identity issued by '${ident.issuer}', but this tenant's local identities are issued by '${localIssuer(tenant)}'${ident.issuer.toLowerCase().endsWith('.onmicrosoft.com') ? ` (give the tenant its B2C name: latchkey tenant set --tenant ${tenant.slug} --b2c-name ${ident.issuer.toLowerCase().slice(0, -'.onmicrosoft.com'.length)})` : ''}` };
        }
        let name = ident.issuerAssignedId.trim();
        if (ident.signInType === 'emailAddress' && !EMAIL.test(name)) return { error: `identities[${i}]: '${ident.issuerAssignedId}' is not an email address` };
        if (ident.signInType === 'phoneNumber') {
          name = normalizePhone(name);
          if (!E164.test(name)) return { error: `identities[${i}]: '${ident.issuerAssignedId}' is not a phone number in international format (+31612345678)` };
        }
        const key = normalizeLocalName({ issuerAssignedId: name });
        if (seen.has(key)) return { error: `identities[${i}]: the sign-in name '${name}' is given twice` };
        seen.add(key);
        local.push({ signInType: ident.signInType, issuerAssignedId: name });
        break;
      }
      case 'federated':
        if (typeof ident.issuer !== 'string' || !/^\S{1,256}$/.test(ident.issuer)) return { error: `identities[${i}]: a federated identity needs the provider's issuer` };
        if (isLocalIssuer(tenant, ident.issuer)) return { error: `identities[${i}]: '${ident.issuer}' issues this tenant's local identities, not a federated one` };
        upstream.push({ issuer: ident.issuer, issuerAssignedId: ident.issuerAssignedId });
        break;
      case 'userPrincipalName':
        break; // B2C's technical identity, nothing anyone signs in with
      default:
        return { error: `identities[${i}]: sign-in type '${ident.signInType}' is not supported (emailAddress, userName, phoneNumber, federated)` };
    }
  }
  if (local.length === 0 && upstream.length === 0) return { error: 'has no identity to sign in with (emailAddress, userName, phoneNumber or federated)' };

  const attributes: Record<string, unknown> = {};
  let extensionsAppId: string | undefined;
  for (const [key, value] of Object.entries(row)) {
    const ext = EXTENSION_ATTRIBUTE.exec(key);
    const name = ext ? ext[2]! : (BUILTIN_ATTRIBUTES as readonly string[]).includes(key) ? key : undefined;
    if (name === undefined || value === null || value === undefined) continue;
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') return { error: `${key} must be a string, a number or true/false` };
    if (typeof value === 'string' && value.length > 1024) return { error: `${key} is longer than 1024 characters` };
    attributes[name] = value;
    if (ext) extensionsAppId ??= ext[1]!.toLowerCase();
  }

  const hasPassword = hasLocalAccount({ localIdentities: local });
  let passwordHash: string | null = null;
  if (row.passwordHash !== undefined && row.passwordHash !== null) {
    if (!hasPassword) return { error: 'passwordHash needs a local account (an emailAddress or userName identity)' };
    const h = importedHash(row.passwordHash);
    if ('error' in h) return { error: h.error };
    passwordHash = h.hash;
  }
  const profile = row.passwordProfile;
  if (profile !== undefined && profile !== null && (typeof profile !== 'object' || Array.isArray(profile))) return { error: 'passwordProfile must be an object' };
  const force = (profile as { forceChangePasswordNextSignIn?: unknown } | null | undefined)?.forceChangePasswordNextSignIn;
  if (force !== undefined && force !== null && typeof force !== 'boolean') return { error: 'passwordProfile.forceChangePasswordNextSignIn must be true or false' };
  if (force === true && !hasPassword) return { error: 'passwordProfile.forceChangePasswordNextSignIn needs a local account (an emailAddress or userName identity)' };
  const created = typeof row.createdDateTime === 'string' ? Date.parse(row.createdDateTime) : NaN;
  const signInEmail = local.find((l) => l.signInType === 'emailAddress')?.issuerAssignedId;
  const user: User = {
    id,
    tenantId: tenant.id,
    email: signInEmail ?? strings.mail!,
    // A local email account was proven at sign-up in B2C; a contact address alone was not.
    emailVerified: signInEmail !== undefined,
    localIdentities: local,
    otherMails,
    passwordHash,
    passwordAtLegacy: hasPassword && passwordHash === null,
    mustChangePassword: force === true,
    givenName: strings.givenName!,
    familyName: strings.surname!,
    displayName: strings.displayName!,
    attributes,
    disabled: row.accountEnabled === false,
    createdAt: Number.isNaN(created) ? now : created,
    updatedAt: now,
  };
  return { user: { user, identities: upstream }, ...(extensionsAppId ? { extensionsAppId } : {}) };
}

/** A user in Graph's shape (what `user export` writes; `passwordHash` only when asked for). */
export function graphFromUser(tenant: Tenant, user: User, identities: UserIdentity[], opts: { withPasswordHash?: boolean } = {}): Record<string, unknown> {
  const ids = graphIdentities(tenant, user, identities);
  const out: Record<string, unknown> = {
    id: user.id,
    accountEnabled: !user.disabled,
    displayName: user.displayName,
    givenName: user.givenName,
    surname: user.familyName,
    mail: user.email,
    otherMails: user.otherMails,
    createdDateTime: new Date(user.createdAt).toISOString(),
    identities: ids,
  };
  const appId = extensionsAppIdOf(tenant);
  for (const [name, value] of Object.entries(user.attributes)) {
    out[(BUILTIN_ATTRIBUTES as readonly string[]).includes(name) ? name : `extension_${appId}_${name}`] = value;
  }
  if (user.mustChangePassword) out.passwordProfile = { forceChangePasswordNextSignIn: true };
  if (opts.withPasswordHash && user.passwordHash) out.passwordHash = user.passwordHash;
  return out;
}
