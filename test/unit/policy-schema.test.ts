import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { policyJsonSchemaText } from '../../src/journeys/policy-json-schema.js';
import { policySchema } from '../../src/model/policy.js';

const root = join(import.meta.dirname, '..', '..');

describe('policy schema', () => {
  it('ships a JSON Schema that matches the zod schema (run npm run policy-schema after changing it)', () => {
    expect(readFileSync(join(root, 'policies', 'policy.schema.json'), 'utf8')).toBe(policyJsonSchemaText());
  });

  it('accepts the shipped demo policies and fills B2C defaults', () => {
    for (const name of ['B2C_1_signupsignin', 'B2C_1_signin', 'B2C_1_signup', 'B2C_1_profileedit', 'B2C_1_passwordreset']) {
      const json = JSON.parse(readFileSync(join(root, 'policies', 'demo', `${name}.json`), 'utf8')) as { $schema: string };
      expect(json.$schema).toBe('../policy.schema.json');
      const p = policySchema.parse(json);
      expect(p.tokens.refreshTokenDays).toBe(14);
      expect(p.session.sso).toBe('tenant');
    }
  });

  it('refuses out-of-range lifetimes, unknown keys and a select without options', () => {
    const bad = [
      { id: 'x', kind: 'signIn', tokens: { accessTokenMinutes: 1441 } },
      { id: 'x', kind: 'signIn', tokens: { refreshTokenDays: 30, refreshSlidingWindowDays: 10 } },
      { id: 'x', kind: 'signIn', sesion: {} },
      { id: 'x', kind: 'signUp', signUp: { attributes: [{ claim: 'country', label: 'Country', type: 'select' }] } },
      { id: 'x', kind: 'unknownKind' },
      // Not available (SMS needs a gateway), or with no page to ask on: refused rather than accepted and ignored.
      { id: 'x', kind: 'signIn', mfa: { mode: 'always' } },
      { id: 'x', kind: 'signIn', mfa: { mode: 'required', methods: ['sms'] } },
      { id: 'x', kind: 'signIn', mfa: { mode: 'required', methods: [] } },
      { id: 'x', kind: 'signIn', mfa: { mode: 'required', methods: ['totp', 'totp'] } },
      { id: 'x', kind: 'ropc', mfa: { mode: 'required' } },
      { id: 'x', kind: 'ropc', mfa: { methods: ['passkey'] } },
    ];
    for (const b of bad) expect(policySchema.safeParse(b).success, JSON.stringify(b)).toBe(false);
  });

  it("takes emailOrUsername where a sign-in page has it, and refuses it where it would do nothing", () => {
    for (const kind of ['signIn', 'signUpOrSignIn', 'profileEdit', 'ropc']) {
      expect(policySchema.parse({ id: 'x', kind, localAccount: { signInName: 'emailOrUsername' } }).localAccount.signInName, kind).toBe('emailOrUsername');
    }
    for (const kind of ['signUp', 'passwordReset']) {
      const r = policySchema.safeParse({ id: 'x', kind, localAccount: { signInName: 'emailOrUsername' } });
      expect(r.success, kind).toBe(false);
      expect(JSON.stringify(r.error?.issues)).toContain('works with email addresses');
    }
    expect(policySchema.safeParse({ id: 'x', kind: 'signIn', localAccount: { signInName: 'phone' } }).error?.issues[0]?.message).toBe("must be 'email', 'username' or 'emailOrUsername'");
  });
});
