import { html, type SafeHtml } from '../html.js';
import type { Messages } from '../../model/messages/messages.js';
import type { ApiPage } from './api-page.js';
import { csrfInput, input, itemError, pageLevelError } from './forms.js';

/** An upstream identity provider offered on the page (a button with its display name). */
export interface ProviderButton {
  id: string;
  displayName: string;
}

export interface SignInPageProps {
  title: string;
  action: string;
  csrf: string;
  email: string;
  error?: string | undefined;
  fieldErrors?: { email?: string | undefined; password?: string | undefined };
  /** "Don't have an account? Sign up now" (signUpOrSignIn only). */
  signUpLink: boolean;
  keepMeSignedIn?: boolean;
  forgotPasswordLink: boolean;
  /** What local accounts sign in with (the policy's localAccount.signInName): an email address by default. */
  signInName?: 'email' | 'username' | 'emailOrUsername';
  /** Identity providers offered next to the local account ("Sign in with your social account"). */
  providers?: ProviderButton[];
  /** Sign-in with a passkey (button and autofill), when the policy offers passkeys. */
  passkey?: SafeHtml | undefined;
}

/** B2C's id for a provider's button (`GoogleExchange`…), which customers' CSS and scripts select. */
function buttonId(id: string): string {
  return `${id.charAt(0).toUpperCase()}${id.slice(1)}Exchange`;
}

/**
 * B2C's social block: an intro and a button per provider, in a form of its own (inside the local
 * account's form they would come before "Sign in", and pressing Enter in a field submits the form's
 * first button).
 */
function socialBlock(p: { action: string; csrf: string; providers: ProviderButton[] }, m: Messages): SafeHtml {
  return html`<div class="social">
<div class="intro"><h2>${m.t('signIn.socialIntro')}</h2></div>
<form method="post" action="${p.action}" class="options" novalidate>
${csrfInput(p.csrf)}
<ul class="providers">
${p.providers.map((b, i) => html`<li><button type="submit" name="action" value="idp:${b.id}" class="accountButton${i === 0 ? ' firstButton' : ''}" id="${buttonId(b.id)}" formnovalidate>${b.displayName}</button></li>`)}
</ul>
</form>
</div>`;
}

/**
 * Local-account sign-in (B2C's `unifiedssp` page) with B2C's ids: `#localAccountForm`, `#signInName`,
 * `#password`, `#next`, `#forgotPassword`, `#createAccount`, `#cancel`. "Sign in" is the first submit
 * button in the form, so pressing Enter in a field signs in. With identity providers the social
 * buttons come first, then `.divider`, then the local account.
 */
export function signInPage(p: SignInPageProps, m: Messages): ApiPage {
  const providers = p.providers ?? [];
  const by = p.signInName ?? 'email';
  const nameLabel = m.t(by === 'username' ? 'label.username' : by === 'emailOrUsername' ? 'label.emailOrUsername' : 'label.email');
  const passwordLabel = m.t('label.password');
  const emailError = p.fieldErrors?.email;
  const passwordError = p.fieldErrors?.password;
  const content = html`<div class="heading"><h1>${p.title}</h1></div>
${pageLevelError(p.error)}
${providers.length > 0 ? html`${socialBlock({ action: p.action, csrf: p.csrf, providers }, m)}
<div class="divider" role="separator"><h2>${m.t('signIn.divider')}</h2></div>` : ''}
<div class="localAccount">
<div class="intro"><h2>${m.t(by === 'username' ? 'signIn.usernameIntro' : by === 'emailOrUsername' ? 'signIn.emailOrUsernameIntro' : 'signIn.emailIntro')}</h2></div>
<form method="post" action="${p.action}" id="localAccountForm" novalidate>
${csrfInput(p.csrf)}
<div class="entry">
<div class="entry-item">
<label for="signInName">${nameLabel}</label>
${itemError('signInName', emailError)}
${input({ id: 'signInName', name: 'email', type: by === 'email' ? 'email' : 'text', value: p.email, error: emailError, required: true, autocomplete: p.passkey ? 'username webauthn' : 'username', autofocus: p.email === '', maxLength: 256, placeholder: nameLabel })}
</div>
<div class="entry-item">
<div class="password-label"><label for="password">${passwordLabel}</label></div>
${itemError('password', passwordError)}
${input({ id: 'password', name: 'password', type: 'password', error: passwordError, required: true, autocomplete: 'current-password', autofocus: p.email !== '', maxLength: 256, placeholder: passwordLabel })}
</div>
${p.keepMeSignedIn ? html`<div class="rememberMe checkbox"><input id="rememberMe" name="kmsi" type="checkbox" value="true"><label for="rememberMe">${m.t('signIn.keepMeSignedIn')}</label></div>` : ''}
<div class="buttons">
<button type="submit" id="next" name="action" value="signin">${m.t('button.signIn')}</button>
<button type="submit" id="cancel" name="action" value="cancel" class="secondary" formnovalidate>${m.t('button.cancel')}</button>
</div>
${p.passkey ?? ''}
${p.forgotPasswordLink ? html`<p class="forgot-password"><button type="submit" id="forgotPassword" name="action" value="forgot" class="secondary link" formnovalidate>${m.t('signIn.forgotPassword')}</button></p>` : ''}
</div>
${p.signUpLink ? html`<div class="create"><p>${m.t('signIn.noAccount')} <button type="submit" id="createAccount" name="action" value="signup" class="secondary link" formnovalidate>${m.t('signIn.signUpNow')}</button></p></div>` : ''}
</form>
</div>`;
  return { pageType: 'unifiedssp', title: p.title, content };
}

/** A policy without local accounts: a button per identity provider (B2C's provider selection page). */
export function providerSelectionPage(p: { title: string; action: string; csrf: string; providers: ProviderButton[]; error?: string | undefined }, m: Messages): ApiPage {
  const content = html`<div class="heading"><h1>${p.title}</h1></div>
${pageLevelError(p.error)}
${socialBlock(p, m)}
<form method="post" action="${p.action}" novalidate>
${csrfInput(p.csrf)}
<div class="buttons"><button type="submit" id="cancel" name="action" value="cancel" class="secondary" formnovalidate>${m.t('button.cancel')}</button></div>
</form>`;
  return { pageType: 'providerselection', title: p.title, content };
}
