import { describe, expect, it } from 'vitest';
import type { Tenant } from '../../src/model/entities.js';
import { ServiceError } from '../../src/model/errors.js';
import { checkIdentity, checkSignInName, passwordProblem } from '../../src/services/users-rules.js';

const tenant = { id: '11111111-2222-3333-4444-555555555555', slug: 'contoso' } as Tenant;

function refusal(f: () => unknown): string | undefined {
  try {
    f();
    return undefined;
  } catch (err) {
    expect(err).toBeInstanceOf(ServiceError);
    expect((err as ServiceError).kind).toBe('invalid');
    return (err as Error).message;
  }
}

describe('the rules every user write is checked against', () => {
  it("measures a password against a policy's lengths, the 256-character ceiling, and Graph's strong rule", () => {
    expect(passwordProblem('short', { minLength: 8, maxLength: 256 })).toEqual({ tooShort: 8 });
    expect(passwordProblem('x'.repeat(20), { minLength: 8, maxLength: 16 })).toEqual({ tooLong: 16 });
    expect(passwordProblem('x'.repeat(300), { minLength: 8, maxLength: 999 })).toEqual({ tooLong: 256 });
    expect(passwordProblem('long-enough-1')).toBeUndefined();
    // Strong: 8 or more characters of three of the four kinds.
    expect(passwordProblem('alllowercase', { minLength: 1, maxLength: 256, strong: true })).toEqual({ weak: true });
    expect(passwordProblem('Str0ng', { minLength: 1, maxLength: 256, strong: true })).toEqual({ weak: true });
    expect(passwordProblem('Str0ng-Passw0rd', { minLength: 1, maxLength: 256, strong: true })).toBeUndefined();
    expect(passwordProblem('x', { minLength: 1, maxLength: 256 })).toBeUndefined();
  });

  it('takes a sign-in name trimmed: an email address, or a user name of 1 to 256 characters', () => {
    expect(checkSignInName('emailAddress', ' Ann@Example.com ')).toBe('Ann@Example.com');
    expect(refusal(() => checkSignInName('emailAddress', 'not-an-email'))).toBe("'not-an-email' is not an email address.");
    expect(checkSignInName('userName', 'ann')).toBe('ann');
    expect(refusal(() => checkSignInName('userName', '   '))).toMatch(/1 to 256 characters/);
  });

  it("takes an upstream identity from any provider's domain but the tenant's own", () => {
    expect(checkIdentity(tenant, { issuer: ' google.com ', issuerAssignedId: ' 1101 ' })).toEqual({ issuer: 'google.com', issuerAssignedId: '1101' });
    // Another B2C tenant may be an upstream provider.
    expect(checkIdentity(tenant, { issuer: 'partner.onmicrosoft.com', issuerAssignedId: 'x' }).issuer).toBe('partner.onmicrosoft.com');
    expect(refusal(() => checkIdentity(tenant, { issuer: 'contoso.onmicrosoft.com', issuerAssignedId: 'x' }))).toMatch(/local account's issuer/);
    expect(refusal(() => checkIdentity(tenant, { issuer: tenant.id, issuerAssignedId: 'x' }))).toMatch(/local account's issuer/);
    expect(refusal(() => checkIdentity(tenant, { issuer: 'google .com', issuerAssignedId: 'x' }))).toMatch(/the provider's domain/);
    expect(refusal(() => checkIdentity(tenant, { issuer: 'google.com', issuerAssignedId: 'x'.repeat(257) }))).toMatch(/1-256 characters/);
  });
});
