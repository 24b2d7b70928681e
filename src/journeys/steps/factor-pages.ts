import { newTotpSecret, totpEnrolment } from '../../services/mfa.js';
import { accountName } from '../../model/local-identities.js';
import type { User } from '../../model/entities.js';
import type { FormPageProps } from '../../ui/pages/form-page.js';
import { recoveryCodeList, totpSetup } from '../../ui/pages/mfa.js';
import type { StepContext } from '../journey.js';

/**
 * The parts of the enrolment pages that the second-factor step, profile edit's security settings and
 * the passkey offer after sign-up share: the authenticator app's setup and the recovery codes shown once.
 * A secret or codes kept in the journey between pages are sealed (the journey is in the database).
 */
type Content = Pick<FormPageProps, 'heading' | 'intro' | 'extra' | 'fields'>;

/** The authenticator app's setup: QR code and key for `sealed` (or a new secret), and the code field. */
export async function totpEnrolContent(ctx: StepContext, user: User, sealed: string | undefined, error?: string): Promise<{ content: Content; sealed: string }> {
  const m = ctx.messages;
  const secret = sealed ? ctx.deps.secrets.open(sealed) : newTotpSecret();
  const account = accountName(user);
  const { qrSvg } = await totpEnrolment(ctx.policy.ui.title ?? ctx.tenant.displayName, account, secret);
  return {
    content: {
      heading: m.t('mfa.totpEnrolHeading'),
      intro: m.t('mfa.totpEnrolIntro'),
      extra: totpSetup(qrSvg, secret, m),
      fields: [{ id: 'totpCode', name: 'code', label: m.t('label.totpCode'), type: 'code', error }],
    },
    sealed: ctx.deps.secrets.seal(secret),
  };
}

export function sealCodes(ctx: StepContext, codes: string[]): string {
  return ctx.deps.secrets.seal(JSON.stringify(codes));
}

/** The recovery codes, shown once. */
export function recoveryCodesContent(ctx: StepContext, sealed: string): Content {
  const m = ctx.messages;
  return { heading: m.t('mfa.codesHeading'), intro: m.t('mfa.codesIntro'), extra: recoveryCodeList(JSON.parse(ctx.deps.secrets.open(sealed)) as string[]), fields: [] };
}
