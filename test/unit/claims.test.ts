import { describe, expect, it } from 'vitest';
import { policySchema } from '../../src/model/policy.js';
import type { UserGrant } from '../../src/oauth/grant.js';
import type { User } from '../../src/model/entities.js';
import { idTokenClaims, userAccessTokenClaims } from '../../src/oauth/claims.js';

const base = { iss: 'https://idp.example/t/v2.0/', aud: 'client-1', iat: 1_000, exp: 4_600 };
const user: User = {
  id: 'user-1',
  tenantId: 't',
  email: 'ada@example.com',
  emailVerified: true,
  localIdentities: [{ signInType: 'emailAddress', issuerAssignedId: 'ada@example.com' }],
  otherMails: [],
  passwordHash: null,
  passwordAtLegacy: false,
  mustChangePassword: false,
  givenName: 'Ada',
  familyName: null,
  displayName: 'Ada L',
  // Attributes a sign-up form collected; some are named like registered claims.
  attributes: { loyaltyTier: 'gold', iss: 'https://evil.example/', aud: 'other-app', sub: 'someone-else', ver: '9' },
  disabled: false,
  createdAt: 0,
  updatedAt: 0,
};
const grant: UserGrant = {
  policyId: 'B2C_1_signin',
  scopes: { oidc: ['openid', 'email', 'offline_access'], granted: ['openid', 'email', 'offline_access'] },
  authTime: 999,
  idp: 'local',
  newUser: false,
  clientInfo: false,
};

describe('token claims', () => {
  const policy = policySchema.parse({
    id: 'B2C_1_signin',
    kind: 'signIn',
    outputClaims: ['oid', 'name', 'given_name', 'family_name', 'loyaltyTier', 'iss', 'aud', 'sub', 'ver'],
  });

  it('puts the policy output claims in the id_token, and an attribute never replaces a registered claim', () => {
    const c = idTokenClaims(base, user, policy, grant, { nonce: 'n-1', cHash: 'ch' });
    expect(c).toEqual({
      iss: base.iss,
      sub: 'user-1',
      aud: 'client-1',
      exp: 4_600,
      nbf: 1_000,
      iat: 1_000,
      auth_time: 999,
      nonce: 'n-1',
      ver: '1.0',
      oid: 'user-1',
      name: 'Ada L',
      given_name: 'Ada',
      loyaltyTier: 'gold',
      email: 'ada@example.com',
      email_verified: true,
      tfp: 'B2C_1_signin',
      c_hash: 'ch',
    });
  });

  it('gives access tokens B2C claims with the policy claim named as configured', () => {
    const acr = policySchema.parse({ id: 'B2C_1_signin', kind: 'signIn', tokens: { policyClaim: 'acr' } });
    const api = { ...grant, scopes: { ...grant.scopes, api: { clientId: 'api-1', identifierUri: 'https://api', scopes: ['read', 'write'] } } };
    const c = userAccessTokenClaims({ ...base, aud: 'api-1' }, user, acr, api, 'client-1', 'jti-1');
    expect(c).toMatchObject({ aud: 'api-1', sub: 'user-1', jti: 'jti-1', azp: 'client-1', client_id: 'client-1', scp: 'read write', scope: 'openid email', oid: 'user-1', name: 'Ada L', ver: '1.0', acr: 'B2C_1_signin' });
    expect(c).not.toHaveProperty('tfp');
  });

  it("lists the address, then the other addresses, in emails (a social account's are all in otherMails)", () => {
    const emails = policySchema.parse({ id: 'B2C_1_signin', kind: 'signIn', outputClaims: ['emails'] });
    const noScope: UserGrant = { ...grant, scopes: { oidc: ['openid'], granted: ['openid'] } };
    expect(idTokenClaims(base, { ...user, otherMails: ['ada@work.example', 'ADA@example.com'] }, emails, noScope, {}).emails).toEqual(['ada@example.com', 'ada@work.example']);
    expect(idTokenClaims(base, { ...user, email: null, otherMails: ['ada@gmail.com'] }, emails, noScope, {}).emails).toEqual(['ada@gmail.com']);
    expect(idTokenClaims(base, { ...user, email: null, otherMails: [] }, emails, noScope, {})).not.toHaveProperty('emails');
  });

  it('names custom attributes as B2C user flows do when the policy outputs them so (extension_loyaltyTier)', () => {
    const named = policySchema.parse({ id: 'B2C_1_signin', kind: 'signIn', outputClaims: ['extension_loyaltyTier', 'extension_iss', 'extension_missing'] });
    const c = idTokenClaims(base, user, named, grant, {});
    expect(c.extension_loyaltyTier).toBe('gold');
    // The attribute named iss is an attribute like any other under its extension name; the registered claim stays.
    expect(c.extension_iss).toBe('https://evil.example/');
    expect(c.iss).toBe(base.iss);
    expect(c).not.toHaveProperty('loyaltyTier');
    expect(c).not.toHaveProperty('extension_missing');
  });
});
