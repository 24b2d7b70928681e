import { html, SafeHtml } from '../html.js';
import type { Messages } from '../../model/messages/messages.js';

/**
 * Markup of the second-factor pages that the generic form does not have: the authenticator app's QR
 * code and key, the recovery codes, and the passkey button. The passkey ceremony is the one part that
 * needs JavaScript (WebAuthn is a browser API): /static/passkey.js drives it with
 * @simplewebauthn/browser and posts the result in the page's own form; without JavaScript the button
 * stays hidden and a note says why.
 */

/** The QR code (an SVG drawn on the server) and the key to type by hand. */
export function totpSetup(qrSvg: string, secret: string, m: Messages): SafeHtml {
  // The SVG is the qrcode library's output for a URI Latchkey built: paths only; checked to be nothing else.
  const svg = /^<svg[^>]*>(<path [^<>]*\/?>(<\/path>)?)+<\/svg>\s*$/.test(qrSvg) ? new SafeHtml(qrSvg) : html``;
  const grouped = secret.replace(/(.{4})/g, '$1 ').trim();
  return html`<div class="totpSetup">
<div class="qrCode" role="img" aria-label="QR code">${svg}</div>
<p class="totpKey"><strong>${m.t('mfa.totpKey')}:</strong> <code id="totpSecret">${grouped}</code></p>
</div>`;
}

/** Recovery codes, shown once. */
export function recoveryCodeList(codes: string[]): SafeHtml {
  return html`<ol id="recoveryCodes" class="recoveryCodes">
${codes.map((c) => html`<li><code>${c}</code></li>`)}
</ol>`;
}

/**
 * A passkey button: `create` registers one, `get` signs in or confirms with one; with `autofill` the
 * browser also offers its passkeys in the sign-in name's suggestions (conditional UI). `options` are the WebAuthn
 * options (their challenge is remembered by the journey); `action` is what the form posts with the result.
 */
export function passkeyControl(o: { mode: 'create' | 'get'; autofill?: boolean; options: unknown; action: string; label: string; id: string; failed: string; needsScript?: string }): SafeHtml {
  return html`<div class="passkey" data-passkey="${o.mode}"${o.autofill ? html` data-autofill="true"` : ''} data-action="${o.action}" data-options="${JSON.stringify(o.options)}">
<input type="hidden" name="passkey" value="">
<button type="button" id="${o.id}" class="passkeyButton secondary" hidden>${o.label}</button>
${o.needsScript ? html`<noscript><p class="passkeyNoScript">${o.needsScript}</p></noscript>` : ''}
<div class="error itemLevel" role="alert" data-passkey-error hidden><p>${o.failed}</p></div>
</div>
<script src="/static/vendor/simplewebauthn-browser.js" defer></script>
<script src="/static/passkey.js" defer></script>`;
}

/**
 * The passkey control of Latchkey's pages in their words: "Use a passkey" (a second factor), "Sign in
 * with a passkey" (the sign-in page, with autofill), or "Create a passkey".
 */
export function passkeyButton(m: Messages, o: { mode: 'get' | 'create'; options: unknown; action: string; signIn?: boolean }): SafeHtml {
  const [label, id] = o.mode === 'create' ? (['button.createPasskey', 'createPasskey'] as const) : o.signIn ? (['button.signInWithPasskey', 'passkeySignIn'] as const) : (['button.usePasskey', 'usePasskey'] as const);
  return passkeyControl({
    mode: o.mode,
    options: o.options,
    action: o.action,
    label: m.t(label),
    id,
    failed: m.t('mfa.passkeyFailed'),
    ...(o.signIn ? { autofill: true } : { needsScript: m.t('mfa.passkeyNeedsScript') }),
  });
}

/** j•••@example.com: enough for the user to recognise the address, not enough to read it off a screen. */
export function maskAddress(address: string): string {
  const at = address.lastIndexOf('@');
  if (at <= 0) return address;
  return `${address.charAt(0)}•••${address.slice(at)}`;
}
