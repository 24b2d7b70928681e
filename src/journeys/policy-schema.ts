import { z } from 'zod';

/**
 * The policy file format (policies/{tenant}/{policyId}.json). Kinds are presets that expand to
 * steps (compile.ts); every option has B2C's default so a file can be as short as `{id, kind}`.
 */

/** `ropc` is B2C's resource owner password credentials user flow: local accounts at the token endpoint, no pages. */
export const policyKinds = ['signIn', 'signUp', 'signUpOrSignIn', 'profileEdit', 'passwordReset', 'ropc'] as const;
export type PolicyKind = (typeof policyKinds)[number];

const attributeSchema = z
  .object({
    claim: z.string().regex(/^[a-zA-Z][\w]*$/, 'must be a claim name (letters, digits, _)'),
    label: z.string().min(1).max(100),
    required: z.boolean().default(false),
    type: z.enum(['string', 'email', 'select', 'boolean']).default('string'),
    options: z.array(z.string().min(1)).min(1).optional(),
    maxLength: z.number().int().min(1).max(1024).default(256),
  })
  .strict()
  .refine((a) => a.type !== 'select' || a.options !== undefined, { message: 'a select attribute needs options', path: ['options'] });

export const policySchema = z
  .object({
    $schema: z.string().optional(),
    id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, _ or -'),
    kind: z.enum(policyKinds),
    identityProviders: z.array(z.string().min(1)).min(1).default(['local']),
    localAccount: z
      .object({
        /** What local accounts sign in with: an email address, or a user name (B2C's userName identities). */
        signInName: z.enum(['email', 'username']).default('email'),
        password: z
          .object({
            minLength: z.number().int().min(8).max(256).default(8),
            maxLength: z.number().int().min(8).max(256).default(256),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    signUp: z
      .object({
        attributes: z.array(attributeSchema).default([]),
        verifyEmail: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    forgotPassword: z.enum(['error', 'inline']).default('error'),
    mfa: z
      .object({
        mode: z.enum(['off', 'optional', 'required'], { error: "must be 'off', 'optional' or 'required' (B2C's 'Always on' is 'required')" }).default('off'),
      })
      .strict()
      .prefault({})
      // An accepted option must work: until multi-factor authentication is built, only 'off' is.
      .refine((m) => m.mode === 'off', {
        message: "multi-factor authentication is not available yet: set mfa.mode to 'off' (a policy that asked for MFA would otherwise sign users in with a password alone)",
        path: ['mode'],
      }),
    outputClaims: z
      .array(z.string().min(1))
      .default(['oid', 'emails', 'name', 'given_name', 'family_name', 'idp', 'newUser', 'tfp']),
    tokens: z
      .object({
        idTokenMinutes: z.number().int().min(5).max(1440).default(60),
        accessTokenMinutes: z.number().int().min(5).max(1440).default(60),
        refreshTokenDays: z.number().int().min(1).max(90).default(14),
        /** null: unbounded sliding window ("No expiry" in B2C). */
        refreshSlidingWindowDays: z.number().int().min(1).max(365).nullable().default(90),
        policyClaim: z.enum(['tfp', 'acr']).default('tfp'),
      })
      .strict()
      .prefault({})
      .refine((t) => t.refreshSlidingWindowDays === null || t.refreshSlidingWindowDays >= t.refreshTokenDays, {
        message: 'refreshSlidingWindowDays must be at least refreshTokenDays',
        path: ['refreshSlidingWindowDays'],
      }),
    session: z
      .object({
        lifetimeMinutes: z.number().int().min(15).max(1440).default(1440),
        timeout: z.enum(['rolling', 'absolute']).default('rolling'),
        sso: z.enum(['tenant', 'application', 'policy', 'suppressed']).default('tenant'),
        keepMeSignedInDays: z.number().int().min(0).max(90).default(0),
      })
      .strict()
      .prefault({}),
    ui: z
      .object({
        title: z.string().min(1).max(200).optional(),
        locale: z.string().min(2).max(20).default('en'),
        /** A stylesheet shipped in static/themes/ (besides the default). */
        theme: z.enum(['default', 'dark']).default('default'),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((p, ctx) => {
    // Options that would do nothing are refused (the journeys that would need them do not exist).
    if (p.localAccount.signInName === 'username' && (p.kind === 'signUp' || p.kind === 'signUpOrSignIn' || p.kind === 'passwordReset')) {
      ctx.addIssue({ code: 'custom', path: ['localAccount', 'signInName'], message: `signing up and resetting passwords by user name are not available yet: a ${p.kind} policy works with email addresses (user names sign in with signIn, profileEdit and ropc policies)` });
    }
    if (p.kind === 'ropc' && p.identityProviders.some((id) => id !== 'local')) {
      ctx.addIssue({ code: 'custom', path: ['identityProviders'], message: "an ropc policy signs in local accounts only (B2C's rule): identityProviders must be [\"local\"]" });
    }
  });

export type Policy = z.infer<typeof policySchema>;
export type SignUpAttribute = z.infer<typeof attributeSchema>;
