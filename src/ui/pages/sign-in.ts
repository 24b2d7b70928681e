import { html, type SafeHtml } from '../html.js';
import { csrfInput, errorSummary, field } from './forms.js';
import { layout } from './layout.js';

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
  error?: string;
  fieldErrors?: { email?: string; password?: string };
  /** "Don't have an account? Sign up now" (signUpOrSignIn only). */
  signUpLink: boolean;
  keepMeSignedIn?: boolean;
  forgotPasswordLink: boolean;
  /** B2C's label of the sign-in name: "Email Address", or "Username" for user-name accounts. */
  signInLabel?: string;
  /** Identity providers offered next to the local account ("Sign in with your social account"). */
  providers?: ProviderButton[];
  lang?: string;
  theme?: string;
}

/** B2C's id for a provider's button (`GoogleExchange`…), which customers' CSS and scripts select. */
function buttonId(id: string): string {
  return `${id.charAt(0).toUpperCase()}${id.slice(1)}Exchange`;
}

/**
 * The social buttons, in a form of their own: inside the local-account form they would come before
 * "Sign in", and pressing Enter in a field submits the form's first button.
 */
function providerForm(p: { action: string; csrf: string; providers: ProviderButton[] }): SafeHtml {
  return html`<form method="post" action="${p.action}" class="social" novalidate>
${csrfInput(p.csrf)}
<ul class="providers">
${p.providers.map((b) => html`<li><button type="submit" name="action" value="idp:${b.id}" class="accountButton" id="${buttonId(b.id)}" formnovalidate>${b.displayName}</button></li>`)}
</ul>
</form>`;
}

/**
 * Local-account sign-in, in B2C's wording so users and support documents recognise it. "Sign in" is
 * the first submit button in the form, so pressing Enter in a field signs in (implicit submission
 * uses the first one). With identity providers the page is B2C's "unified" one: social buttons, then
 * the local account.
 */
export function signInPage(p: SignInPageProps): string {
  const providers = p.providers ?? [];
  const body = html`<h1>${p.title}</h1>
${errorSummary(p.error)}
${providers.length > 0 ? html`<h2 class="intro">Sign in with your social account</h2>
${providerForm({ action: p.action, csrf: p.csrf, providers })}
<div class="divider" role="separator"><span>OR</span></div>` : ''}
<p>Sign in with your ${p.signInLabel === 'Username' ? 'username' : 'email address'}</p>
<form method="post" action="${p.action}" id="localAccountForm" novalidate>
${csrfInput(p.csrf)}
${field({ name: 'email', label: p.signInLabel ?? 'Email Address', type: p.signInLabel === 'Username' ? 'text' : 'email', value: p.email, error: p.fieldErrors?.email, required: true, autocomplete: 'username', autofocus: p.email === '', maxLength: 256 })}
${field({ name: 'password', label: 'Password', type: 'password', error: p.fieldErrors?.password, required: true, autocomplete: 'current-password', autofocus: p.email !== '', maxLength: 256 })}
${p.keepMeSignedIn ? html`<p class="checkbox"><input id="f-kmsi" name="kmsi" type="checkbox" value="true"><label for="f-kmsi">Keep me signed in</label></p>` : ''}
<div class="actions">
<button type="submit" name="action" value="signin">Sign in</button>
<button type="submit" name="action" value="cancel" class="secondary" formnovalidate>Cancel</button>
</div>
${p.forgotPasswordLink ? html`<p class="links"><button type="submit" name="action" value="forgot" class="secondary" formnovalidate>Forgot your password?</button></p>` : ''}
${p.signUpLink ? html`<p class="links">Don't have an account? <button type="submit" name="action" value="signup" class="secondary" formnovalidate>Sign up now</button></p>` : ''}
</form>`;
  return layout({ title: p.title, body, lang: p.lang, theme: p.theme });
}

/** A policy without local accounts: a button per identity provider (B2C's provider selection page). */
export function providerSelectionPage(p: { title: string; action: string; csrf: string; providers: ProviderButton[]; error?: string; lang?: string; theme?: string }): string {
  const body = html`<h1>${p.title}</h1>
${errorSummary(p.error)}
<h2 class="intro">Sign in with your social account</h2>
${providerForm(p)}
<form method="post" action="${p.action}" novalidate>
${csrfInput(p.csrf)}
<div class="actions"><button type="submit" name="action" value="cancel" class="secondary" formnovalidate>Cancel</button></div>
</form>`;
  return layout({ title: p.title, body, lang: p.lang, theme: p.theme });
}
