import { decodeJwt, decodeProtectedHeader } from 'jose';
import type { TokenResponse } from '../../oauth/token-response.js';
import { html, type SafeHtml } from '../../ui/html.js';
import { table, type Shell } from './layout.js';

/** "Run now"'s answer: the tokens the policy issued, decoded (as the token viewer shows them). */
export function tokensBody(shell: Shell, policyId: string, tokens: TokenResponse): SafeHtml {
  const shown = [
    ['id_token', tokens.id_token],
    ['access_token', tokens.access_token],
  ].filter((t): t is [string, string] => typeof t[1] === 'string');
  return html`<p>The journey of <strong>${policyId}</strong> finished and issued these tokens to the console's app; nothing is kept.</p>
<p><a href="${shell.base}/policies/${policyId}/run">Run ${policyId} again</a> · <a href="${shell.base}/policies/${policyId}">Back to the policy</a></p>
${shown.map(([label, raw]) => tokenSection(label, raw))}`;
}

function tokenSection(label: string, raw: string): SafeHtml {
  const header = decodeProtectedHeader(raw) as Record<string, unknown>;
  const claims = decodeJwt(raw) as Record<string, unknown>;
  const value = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
  return html`<section aria-labelledby="t-${label}"><h2 id="t-${label}">${label}</h2>
<p class="muted">Header: <code>${JSON.stringify(header)}</code></p>
${table(`Claims of the ${label}`, ['Claim', 'Value'], Object.entries(claims).map(([k, v]) => html`<tr><th scope="row">${k}</th><td>${value(v)}</td></tr>`))}
<details><summary>Encoded</summary><pre class="wrap">${raw}</pre></details></section>`;
}
