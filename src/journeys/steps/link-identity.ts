import { ServiceError } from '../../model/errors.js';
import { type User } from '../../model/entities.js';
import { provisionDeps } from '../../services/deps.js';
import { linkIdentity as linkUserIdentity, lockoutName } from '../../services/users.js';
import type { Step, StepContext, StepResult } from '../journey.js';
import { cancelButton, cancelled, emailFact, page, stepData, withData } from './common.js';
import { LINK_STEP, UPSTREAM_USER_KEY, disabledAccount, signedInWith, type UpstreamUser } from './federated-sign-in.js';
import { recordLoginFailure } from '../../services/local-auth.js';
import { MAX_SENDS, checkCode, codeField, issueCode, type PendingCode } from './one-time-code.js';

interface LinkData {
  /** 'code' once the user asked for an emailed code instead of the password. */
  mode?: 'password' | 'code';
  code?: PendingCode;
}

/**
 * An upstream identity whose verified email belongs to an account here is linked to it only after the
 * user proves that account: its password (with the sign-in page's lockout), or a code mailed to the
 * account's address. Never silently: whoever controls the upstream account does not get this one by
 * the address alone.
 */
export function linkIdentity(): Step {
  async function target(ctx: StepContext): Promise<{ upstream: UpstreamUser; user: User } | undefined> {
    const upstream = stepData<UpstreamUser>(ctx.state, UPSTREAM_USER_KEY) as UpstreamUser;
    if (!upstream.linkTo) return undefined;
    const user = await ctx.deps.store.findUser(ctx.tenant.id, upstream.linkTo);
    return user ? { upstream, user } : undefined;
  }

  function render(ctx: StepContext, t: { upstream: UpstreamUser; user: User }, mode: 'password' | 'code', extra: { error?: string; notice?: string } = {}): StepResult {
    const address = t.user.email ?? t.upstream.profile.email ?? '';
    const m = ctx.messages;
    const provider = t.upstream.displayName;
    const common = { heading: m.t('link.heading', { provider }), intro: m.t('link.intro', { address, provider }), error: extra.error, facts: [emailFact(ctx, address)] };
    if (mode === 'code') {
      return page(ctx, {
        ...common,
        notice: extra.notice ?? m.t('code.sent'),
        fields: [codeField(ctx)],
        buttons: [
          { action: 'verify', id: 'email_ver_but_verify', label: m.t('button.verifyCode') },
          { action: 'sendcode', id: 'email_ver_but_resend', label: m.t('button.resendCode'), secondary: true, skipValidation: true },
          cancelButton(ctx),
        ],
      });
    }
    return page(ctx, {
      ...common,
      fields: [{ id: 'password', name: 'password', label: m.t('label.password'), type: 'password', required: true, autocomplete: 'current-password', autofocus: true, maxLength: 256 }],
      buttons: [
        { action: 'link', id: 'continue', label: m.t('button.link') },
        { action: 'sendcode', id: 'email_ver_but_send', label: m.t('button.emailCode'), secondary: true, skipValidation: true },
        cancelButton(ctx),
      ],
    });
  }

  async function link(ctx: StepContext, t: { upstream: UpstreamUser; user: User }, how: string): Promise<StepResult> {
    const identity = { issuer: t.upstream.issuer, issuerAssignedId: t.upstream.profile.issuerAssignedId };
    try {
      // Linked meanwhile (another tab) to this very account is fine; to another, the link is refused.
      await linkUserIdentity(provisionDeps(ctx.deps), ctx.tenant, t.user, identity, { by: 'journey', clientId: ctx.request.clientId, ip: ctx.ip, policyId: ctx.policy.id, provedBy: how });
    } catch (err) {
      if (err instanceof ServiceError && err.kind === 'conflict') return cancelled();
      throw err;
    }
    const state = withData(withData(ctx.state, UPSTREAM_USER_KEY, {}), LINK_STEP, {});
    return { type: 'next', state: signedInWith({ ...ctx, state }, t.user, t.upstream.issuer, { idpAccessToken: t.upstream.idpAccessToken }) };
  }

  return {
    id: LINK_STEP,
    async enter(ctx) {
      if (ctx.state.userId) return { type: 'next', state: ctx.state };
      const t = await target(ctx);
      if (!t) return cancelled();
      if (t.user.disabled) return disabledAccount();
      const data = stepData<LinkData>(ctx.state, LINK_STEP);
      return render(ctx, t, data.mode ?? (t.user.passwordHash ? 'password' : 'code'));
    },
    async submit(ctx, form) {
      if (form.action === 'cancel') return cancelled();
      const t = await target(ctx);
      if (!t) return cancelled();
      if (t.user.disabled) return disabledAccount();
      const data = stepData<LinkData>(ctx.state, LINK_STEP);
      const { deps } = ctx;
      const address = t.user.email;

      if (form.action === 'sendcode') {
        if (!address) return render(ctx, t, 'password', { error: ctx.messages.t('link.noAddress') });
        if ((data.code?.sends ?? 0) >= MAX_SENDS) return render(ctx, t, 'code', { error: ctx.messages.t('code.tooManySends') });
        const code = await issueCode(ctx, address, data.code ?? {}, true);
        return { ...render(ctx, t, 'code', data.code ? { notice: ctx.messages.t('code.resent') } : {}), state: withData(ctx.state, LINK_STEP, { mode: 'code', code }) };
      }
      if (form.action === 'verify') {
        const check = checkCode(ctx, data.code ?? {}, form.code ?? '');
        if (!check.ok) {
          const shown = render(ctx, t, 'code', { error: check.error });
          return check.pending ? { ...shown, state: withData(ctx.state, LINK_STEP, { mode: 'code', code: check.pending }) } : shown;
        }
        return link(ctx, t, 'emailed code');
      }

      // The password, with the sign-in page's lockout on the account's sign-in name.
      const password = form.password ?? '';
      if (password === '' || password.length > 256) return render(ctx, t, 'password', { error: ctx.messages.t('error.enterPassword') });
      const name = lockoutName(t.user);
      const base = { tenantId: ctx.tenant.id, clientId: ctx.request.clientId, ip: ctx.ip };
      if (name && (await deps.store.getLoginThrottle(ctx.tenant.id, name)).lockedUntil > deps.clock.now()) return render(ctx, t, 'password', { error: ctx.messages.t('error.locked') });
      if (!(await deps.passwords.verify(password, t.user.passwordHash))) {
        await deps.audit.record({ ...base, event: 'signin', outcome: 'failure', subject: t.user.id, detail: `linking ${t.upstream.issuer}: bad password` });
        if (name) {
          const now = deps.clock.now();
          const th = await recordLoginFailure(deps.store, ctx.tenant.id, name, now);
          if (th.lockedUntil > now) return render(ctx, t, 'password', { error: ctx.messages.t('error.locked') });
        }
        return render(ctx, t, 'password', { error: ctx.messages.t('error.invalidPassword') });
      }
      if (name) await deps.store.clearLoginFailures(ctx.tenant.id, name);
      return link(ctx, t, 'password');
    },
  };
}
