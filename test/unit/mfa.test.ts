import { generate } from 'otplib';
import { describe, expect, it } from 'vitest';
import { policySchema } from '../../src/model/policy.js';
import { newRecoveryCodes, newTotpSecret, totpEnrolment, totpStep } from '../../src/services/mfa.js';
import { acrOf, finalAmr, isMultiFactor } from '../../src/tokens/amr.js';

describe('amr and acr', () => {
  it('counts a password or an upstream sign-in plus a one-time code, or a passkey, as multi-factor', () => {
    expect(isMultiFactor(['pwd'])).toBe(false);
    expect(isMultiFactor(['otp'])).toBe(false); // a password reset by e-mail code alone
    expect(isMultiFactor(['pwd', 'otp'])).toBe(true);
    expect(isMultiFactor(['fed', 'otp'])).toBe(true);
    expect(isMultiFactor(['hwk'])).toBe(true);
    expect(isMultiFactor(['swk'])).toBe(true);
    expect(finalAmr(['pwd', 'otp', 'otp'])).toEqual(['pwd', 'otp', 'mfa']);
    expect(finalAmr(['otp'], true)).toEqual(['otp', 'mfa']);
    expect(finalAmr(['pwd', 'mfa'])).toEqual(['pwd', 'mfa']);
    expect(acrOf(['pwd'])).toBe('sfa');
    expect(acrOf(['pwd', 'otp', 'mfa'])).toBe('mfa');
  });
});

describe('authenticator app codes', () => {
  it('accepts the current code and one period either side, each time step once', async () => {
    const secret = newTotpSecret();
    const now = 1_800_000_000;
    const step = await totpStep(secret, await generate({ secret, epoch: now }), now);
    expect(step).toBe(Math.floor(now / 30));
    expect(await totpStep(secret, await generate({ secret, epoch: now - 30 }), now)).toBe(step! - 1);
    expect(await totpStep(secret, await generate({ secret, epoch: now + 30 }), now)).toBe(step! + 1);
    expect(await totpStep(secret, await generate({ secret, epoch: now - 90 }), now)).toBeUndefined();
    // Replay: a step at or before the last one used is refused.
    expect(await totpStep(secret, await generate({ secret, epoch: now }), now, step)).toBeUndefined();
    expect(await totpStep(secret, 'abcdef', now)).toBeUndefined();
  });

  it('makes an otpauth URI and an SVG QR code of it, drawn here', async () => {
    const { uri, qrSvg } = await totpEnrolment('Contoso', 'ann@example.com', 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP');
    expect(uri).toBe('otpauth://totp/Contoso:ann%40example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Contoso');
    expect(qrSvg).toMatch(/^<svg [^>]*>(<path [^>]*>)+<\/svg>\s*$/);
  });
});

describe('recovery codes', () => {
  it('makes ten distinct codes of ten unambiguous characters', () => {
    const codes = newRecoveryCodes();
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const c of codes) expect(c).toMatch(/^[a-hjkmnp-z2-9]{5}-[a-hjkmnp-z2-9]{5}$/);
  });
});

describe('policy mfa', () => {
  const base = { id: 'p', kind: 'signIn' };
  it('defaults to off with e-mail codes and an authenticator app', () => {
    expect(policySchema.parse(base).mfa).toEqual({ mode: 'off', methods: ['email', 'totp'] });
    expect(policySchema.parse({ ...base, mfa: { mode: 'required', methods: ['passkey'] } }).mfa.methods).toEqual(['passkey']);
  });
  it('takes SMS codes, refuses methods it does not have, and MFA on a policy without pages', () => {
    expect(policySchema.parse({ ...base, mfa: { mode: 'required', methods: ['sms'] } }).mfa.methods).toEqual(['sms']);
    const voice = policySchema.safeParse({ ...base, mfa: { mode: 'required', methods: ['voice'] } });
    expect(voice.error?.issues[0]?.message).toBe("must be 'email', 'totp', 'passkey' or 'sms'");
    const ropcSms = policySchema.safeParse({ id: 'r', kind: 'ropc', mfa: { methods: ['sms'] } });
    expect(ropcSms.error?.issues[0]?.message).toContain('an ropc policy has no pages to send or ask for a text-message code');
    const ropc = policySchema.safeParse({ id: 'r', kind: 'ropc', mfa: { mode: 'optional' } });
    expect(ropc.error?.issues[0]?.message).toContain('an ropc policy has no pages');
  });
});
