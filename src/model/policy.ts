import { z } from 'zod';
import { LOCALES, MESSAGE_KEYS, placeholders } from './messages/messages.js';
import { en } from './messages/en.js';
import { PAGE_TYPES } from './page-layout.js';
import { checkTemplateLocation } from './page-layout.js';
import { secretRefSchema } from './secret-ref.js';

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

function unknownKeys(issue: unknown): string[] | undefined {
  const i = issue as { code?: string; keys?: string[] };
  return i.code === 'unrecognized_keys' ? i.keys : undefined;
}

/** A secret is never written in the policy: it names a tenant secret or (operators' files only) an environment variable. */
const secretRef = secretRefSchema;

/** One of B2C's API connectors: the endpoint, how Latchkey authenticates to it, and how long it waits. */
const apiConnectorSchema = z
  .object({
    url: z.string().superRefine((url, ctx) => {
      const problem = /^https?:\/\//i.test(url) ? checkTemplateLocation(url) : 'must be an https URL';
      if (problem) ctx.addIssue({ code: 'custom', message: problem.replace(', or a file in the policy folder', '') });
    }),
    auth: z.discriminatedUnion(
      'type',
      [
        z.object({ type: z.literal('basic'), username: z.string().min(1).max(256), password: secretRef }).strict(),
        z.object({ type: z.literal('bearer'), token: secretRef }).strict(),
        /** A PKCS#12 (.pfx) file, base64, in an environment variable (B2C's certificate upload), and its password. */
        z.object({ type: z.literal('clientCertificate'), pfx: secretRef, passphrase: secretRef.optional() }).strict(),
      ],
      { error: "must be { type: 'basic', username, password }, { type: 'bearer', token } or { type: 'clientCertificate', pfx, passphrase }" },
    ),
    timeoutSeconds: z.number().int().min(1).max(60).default(20),
  })
  .strict();

/** B2C's three places to call an API connector; each kind offers those its journey has. */
const CONNECTOR_KINDS: Record<string, readonly PolicyKind[]> = {
  postFederationSignup: ['signUp', 'signUpOrSignIn'],
  postAttributeCollection: ['signUp', 'signUpOrSignIn'],
  preTokenIssuance: ['signIn', 'signUp', 'signUpOrSignIn'],
};

export const policySchema = z
  .object({
    $schema: z.string().optional(),
    id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, _ or -'),
    kind: z.enum(policyKinds),
    identityProviders: z.array(z.string().min(1)).min(1).default(['local']),
    localAccount: z
      .object({
        /**
         * What local accounts sign in with: an email address, a user name (B2C's userName identities),
         * or either (a user with both signs in with each, as one account).
         */
        signInName: z.enum(['email', 'username', 'emailOrUsername'], { error: "must be 'email', 'username' or 'emailOrUsername'" }).default('email'),
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
    /**
     * Multi-factor authentication. `required` is B2C's "Always on": every sign-in proves a second factor
     * (enrolled at the first sign-in after it was turned on) unless the SSO session already holds one;
     * `optional` asks only users who enrolled one (from profile edit). `methods` are the factors the
     * policy offers; `passkey` also offers sign-in with a passkey instead of a password.
     */
    mfa: z
      .object({
        mode: z.enum(['off', 'optional', 'required'], { error: "must be 'off', 'optional' or 'required' (B2C's 'Always on' is 'required')" }).default('off'),
        methods: z
          .array(z.enum(['email', 'totp', 'passkey'], { error: "must be 'email', 'totp' or 'passkey' (SMS is not available: it needs a paid gateway)" }))
          .min(1)
          .default(['email', 'totp'])
          .refine((m) => new Set(m).size === m.length, { message: 'lists a method twice' }),
      })
      .strict()
      .prefault({}),
    apiConnectors: z
      .object({
        postFederationSignup: apiConnectorSchema.optional(),
        postAttributeCollection: apiConnectorSchema.optional(),
        preTokenIssuance: apiConnectorSchema.optional(),
      })
      .strict()
      .prefault({}),
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
        /** The pages' language when the app's `ui_locales` names none Latchkey ships; else the browser's. */
        locale: z.enum(LOCALES, { error: `must be one of the shipped languages: ${LOCALES.join(', ')}` }).optional(),
        /** Per-language overrides of the message catalogue: `{ "de": { "button.signIn": "Los" } }`. */
        strings: z
          .partialRecord(
            z.enum(LOCALES, { error: `must be one of the shipped languages: ${LOCALES.join(', ')}` }),
            z.record(z.string(), z.string().min(1).max(2000)),
          )
          .optional()
          .superRefine((strings, ctx) => {
            for (const [locale, byKey] of Object.entries(strings ?? {})) {
              for (const [key, text] of Object.entries(byKey ?? {})) {
                if (!(MESSAGE_KEYS as string[]).includes(key)) {
                  ctx.addIssue({ code: 'custom', path: [locale, key], message: `'${key}' is not a message key (see the catalogue in src/ui/i18n/en.ts)` });
                  continue;
                }
                const allowed = new Set(placeholders(en[key as keyof typeof en]));
                const unknown = placeholders(text).filter((p) => !allowed.has(p));
                if (unknown.length > 0) {
                  ctx.addIssue({ code: 'custom', path: [locale, key], message: `uses {${unknown.join('}, {')}}, which '${key}' does not fill in${allowed.size ? ` (it has {${[...allowed].join('}, {')}})` : ''}` });
                }
              }
            }
          }),
        /**
         * B2C's custom page layouts: per page type, an HTML5 template (an https URL, or a file in the
         * tenant's policy folder) with `<div id="api"></div>` where the form goes. `javaScript` keeps
         * the template's scripts in `<head>` (B2C's "Enable JavaScript"); otherwise scripts are removed.
         * It is refused for a tenant on the shared host (the loader's tenant checks say why).
         */
        pageLayouts: z
          .partialRecord(
            z.enum(PAGE_TYPES, { error: `must be a page type: ${PAGE_TYPES.join(', ')}` }),
            z
              .union([z.string(), z.object({ template: z.string(), javaScript: z.boolean().default(false) }).strict()])
              .transform((v) => (typeof v === 'string' ? { template: v, javaScript: false } : v))
              .superRefine((v, ctx) => {
                const problem = checkTemplateLocation(v.template);
                if (problem) ctx.addIssue({ code: 'custom', path: ['template'], message: problem });
              }),
            // zod reports keys outside the enum as unrecognized_keys, which the record's issue type does not list.
            { error: (iss) => (unknownKeys(iss) ? `unknown page type ${unknownKeys(iss)!.map((k) => `'${k}'`).join(', ')}: use ${PAGE_TYPES.join(', ')}` : undefined) },
          )
          .optional(),
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
    if (p.localAccount.signInName === 'emailOrUsername' && (p.kind === 'signUp' || p.kind === 'passwordReset')) {
      ctx.addIssue({ code: 'custom', path: ['localAccount', 'signInName'], message: `a ${p.kind} policy has no sign-in page for 'emailOrUsername' to change: it works with email addresses (use it in signIn, signUpOrSignIn, profileEdit and ropc policies)` });
    }
    for (const [step, kinds] of Object.entries(CONNECTOR_KINDS)) {
      if (p.apiConnectors[step as keyof typeof p.apiConnectors] && !kinds.includes(p.kind)) {
        ctx.addIssue({ code: 'custom', path: ['apiConnectors', step], message: `a ${p.kind} policy has no ${step} step (it is called in ${kinds.join(', ')} policies)` });
      }
    }
    if (p.kind === 'ropc' && (p.mfa.mode !== 'off' || p.mfa.methods.includes('passkey'))) {
      ctx.addIssue({ code: 'custom', path: ['mfa'], message: "an ropc policy has no pages to ask for a second factor or a passkey (B2C's ROPC flow has no MFA either): set mfa.mode to 'off' and leave passkey out of mfa.methods" });
    }
    if (p.kind === 'ropc' && p.identityProviders.some((id) => id !== 'local')) {
      ctx.addIssue({ code: 'custom', path: ['identityProviders'], message: "an ropc policy signs in local accounts only (B2C's rule): identityProviders must be [\"local\"]" });
    }
  });

export type Policy = z.infer<typeof policySchema>;
export type SignUpAttribute = z.infer<typeof attributeSchema>;
export type ApiConnector = z.infer<typeof apiConnectorSchema>;
