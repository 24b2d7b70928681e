import { html } from '../html.js';
import { csrfInput, errorSummary, field } from './forms.js';
import { layout } from './layout.js';

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
  lang?: string;
  theme?: string;
}

/**
 * Local-account sign-in, in B2C's wording so users and support documents recognise it. "Sign in" is
 * the first submit button in the form, so pressing Enter in a field signs in (implicit submission
 * uses the first one).
 */
export function signInPage(p: SignInPageProps): string {
  const body = html`<h1>${p.title}</h1>
<p>Sign in with your email address</p>
${errorSummary(p.error)}
<form method="post" action="${p.action}" novalidate>
${csrfInput(p.csrf)}
${field({ name: 'email', label: 'Email Address', type: 'email', value: p.email, error: p.fieldErrors?.email, required: true, autocomplete: 'username', autofocus: p.email === '', maxLength: 256 })}
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
