import { StoreConflictError, type User } from '../../store/store.js';
import type { Step, StepContext, StepResult } from '../journey.js';
import { CANCEL_BUTTON, cancelled, page, stepData, withData } from './common.js';
import { LINK_STEP, UPSTREAM_USER_KEY, disabledAccount, signedInWith, type UpstreamUser } from './federated-sign-in.js';
import { LOCKOUT_THRESHOLD, lockoutMs } from '../../services/local-auth.js';
import { LOCKED } from './local-sign-in.js';
import { CODE_MESSAGES, MAX_SENDS, checkCode, issueCode, type PendingCode } from './one-time-code.js';

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
    const intro = `An account for ${address} already exists. To sign in to it with ${t.upstream.displayName} from now on, prove that it is yours.`;
    if (mode === 'code') {
      return page(ctx, {
        heading: `Link your ${t.upstream.displayName} account`,
        intro,
        notice: extra.notice ?? 'Verification code has been sent to your inbox. Please copy it to the input box below.',
        ...(extra.error ? { error: extra.error } : {}),
        facts: [{ label: 'Email Address', value: address }],
        fields: [{ name: 'code', label: 'Verification code', type: 'code', autofocus: true }],
        buttons: [{ action: 'verify', label: 'Verify code' }, { action: 'sendcode', label: 'Send new code', secondary: true, skipValidation: true }, CANCEL_BUTTON],
      });
    }
    return page(ctx, {
      heading: `Link your ${t.upstream.displayName} account`,
      intro,
      ...(extra.error ? { error: extra.error } : {}),
      facts: [{ label: 'Email Address', value: address }],
      fields: [{ name: 'password', label: 'Password', type: 'password', required: true, autocomplete: 'current-password', autofocus: true, maxLength: 256 }],
      buttons: [
        { action: 'link', label: 'Link account' },
        { action: 'sendcode', label: 'Email me a code instead', secondary: true, skipValidation: true },
        CANCEL_BUTTON,
      ],
    });
  }

  async function link(ctx: StepContext, t: { upstream: UpstreamUser; user: User }, how: string): Promise<StepResult> {
    const identity = { issuer: t.upstream.issuer, issuerAssignedId: t.upstream.profile.issuerAssignedId };
    try {
      await ctx.deps.store.addUserIdentity(ctx.tenant.id, t.user.id, identity, ctx.deps.clock.now());
    } catch (err) {
      if (!(err instanceof StoreConflictError)) throw err;
      // Linked meanwhile (another tab): fine if to this very account.
      const owner = await ctx.deps.store.findUserByIdentity(ctx.tenant.id, identity);
      if (owner?.id !== t.user.id) return cancelled();
    }
    await ctx.deps.audit.record({ tenantId: ctx.tenant.id, event: 'identity_linked', outcome: 'success', subject: t.user.id, clientId: ctx.request.clientId, ip: ctx.ip, detail: `${identity.issuer} ${identity.issuerAssignedId} (proved by ${how})` });
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
        if (!address) return render(ctx, t, 'password', { error: 'This account has no email address to send a code to.' });
        if ((data.code?.sends ?? 0) >= MAX_SENDS) return render(ctx, t, 'code', { error: CODE_MESSAGES.tooManySends });
        const code = await issueCode(ctx, address, data.code ?? {}, true);
        return { ...render(ctx, t, 'code', data.code ? { notice: 'A new verification code has been sent to your inbox.' } : {}), state: withData(ctx.state, LINK_STEP, { mode: 'code', code }) };
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
      if (password === '' || password.length > 256) return render(ctx, t, 'password', { error: 'Please enter your password.' });
      const name = t.user.signInName;
      const base = { tenantId: ctx.tenant.id, clientId: ctx.request.clientId, ip: ctx.ip };
      if (name && (await deps.store.getLoginThrottle(ctx.tenant.id, name)).lockedUntil > deps.clock.now()) return render(ctx, t, 'password', { error: LOCKED });
      if (!(await deps.passwords.verify(password, t.user.passwordHash))) {
        await deps.audit.record({ ...base, event: 'signin', outcome: 'failure', subject: t.user.id, detail: `linking ${t.upstream.issuer}: bad password` });
        if (name) {
          const now = deps.clock.now();
          const th = await deps.store.recordLoginFailure(ctx.tenant.id, name, now, LOCKOUT_THRESHOLD, lockoutMs);
          if (th.lockedUntil > now) return render(ctx, t, 'password', { error: LOCKED });
        }
        return render(ctx, t, 'password', { error: 'Invalid password.' });
      }
      if (name) await deps.store.clearLoginFailures(ctx.tenant.id, name);
      return link(ctx, t, 'password');
    },
  };
}
