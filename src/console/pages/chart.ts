import { html, type SafeHtml } from '../../ui/html.js';

/**
 * Sign-ins per hour as an SVG bar chart rendered on the server (no script): successes rise from the
 * middle line and failures hang below it, each stacked by method. The numbers are in a table beside it
 * for screen readers and for anyone who would rather read them.
 */
export const METHODS = ['password', 'identity provider', 'passkey'] as const;
export type Method = (typeof METHODS)[number];

export interface HourCounts {
  /** The hour's start (ms). */
  hour: number;
  success: Record<Method, number>;
  failure: Record<Method, number>;
}

const W = 720;
const H = 260;
const PAD = { left: 36, right: 8, top: 12, bottom: 28 };

/** Class names of the series (colours in console.css, so the CSP needs no inline style). */
const cls = (method: Method, outcome: 'success' | 'failure') => `s-${METHODS.indexOf(method)} ${outcome}`;

export function signInChart(hours: HourCounts[], caption: string): SafeHtml {
  const total = (h: HourCounts, o: 'success' | 'failure') => METHODS.reduce((n, m) => n + h[o][m], 0);
  const peak = Math.max(1, ...hours.map((h) => Math.max(total(h, 'success'), total(h, 'failure'))));
  const scale = niceCeiling(peak);
  const mid = PAD.top + (H - PAD.top - PAD.bottom) / 2;
  const half = (H - PAD.top - PAD.bottom) / 2;
  const slot = (W - PAD.left - PAD.right) / Math.max(1, hours.length);
  const bar = Math.max(2, slot * 0.7);
  const y = (n: number) => (n / scale) * half;
  const sumSuccess = hours.reduce((n, h) => n + total(h, 'success'), 0);
  const sumFailure = hours.reduce((n, h) => n + total(h, 'failure'), 0);

  const bars = hours.map((h, i) => {
    const x = PAD.left + i * slot + (slot - bar) / 2;
    let up = mid;
    let down = mid;
    const parts: SafeHtml[] = [];
    for (const m of METHODS) {
      const s = y(h.success[m]);
      if (s > 0) {
        up -= s;
        parts.push(html`<rect class="${cls(m, 'success')}" x="${x.toFixed(1)}" y="${up.toFixed(1)}" width="${bar.toFixed(1)}" height="${s.toFixed(1)}"><title>${hourLabel(h.hour)}: ${h.success[m]} successful by ${m}</title></rect>`);
      }
      const f = y(h.failure[m]);
      if (f > 0) {
        parts.push(html`<rect class="${cls(m, 'failure')}" x="${x.toFixed(1)}" y="${down.toFixed(1)}" width="${bar.toFixed(1)}" height="${f.toFixed(1)}"><title>${hourLabel(h.hour)}: ${h.failure[m]} failed by ${m}</title></rect>`);
        down += f;
      }
    }
    const label = i % 3 === 0 ? html`<text class="axis" x="${(x + bar / 2).toFixed(1)}" y="${H - 8}" text-anchor="middle">${hourLabel(h.hour).slice(11, 13)}h</text>` : '';
    return html`${parts}${label}`;
  });

  return html`<figure class="chart">
<svg viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="chart-title chart-desc" preserveAspectRatio="xMidYMid meet">
<title id="chart-title">${caption}</title>
<desc id="chart-desc">${sumSuccess} successful and ${sumFailure} failed sign-ins; successes above the middle line, failures below, by method.</desc>
<line class="grid" x1="${PAD.left}" x2="${W - PAD.right}" y1="${mid}" y2="${mid}"/>
<line class="grid faint" x1="${PAD.left}" x2="${W - PAD.right}" y1="${PAD.top}" y2="${PAD.top}"/>
<line class="grid faint" x1="${PAD.left}" x2="${W - PAD.right}" y1="${H - PAD.bottom}" y2="${H - PAD.bottom}"/>
<text class="axis" x="${PAD.left - 4}" y="${PAD.top + 4}" text-anchor="end">${scale}</text>
<text class="axis" x="${PAD.left - 4}" y="${mid + 4}" text-anchor="end">0</text>
<text class="axis" x="${PAD.left - 4}" y="${H - PAD.bottom + 4}" text-anchor="end">${scale}</text>
${bars}
</svg>
<figcaption><ul class="legend">${METHODS.map((m) => html`<li><span class="swatch ${cls(m, 'success')}"></span>${m}</li>`)}<li><span class="swatch failure-key"></span>failed (below the line)</li></ul></figcaption>
</figure>
<details><summary>The numbers</summary>
<div class="table-wrap" role="region" aria-label="Sign-ins per hour" tabindex="0"><table><caption>${caption}</caption><thead><tr><th scope="col">Hour (UTC)</th>${METHODS.map((m) => html`<th scope="col">${m}: succeeded</th><th scope="col">${m}: failed</th>`)}</tr></thead>
<tbody>${hours.map((h) => html`<tr><th scope="row">${hourLabel(h.hour)}</th>${METHODS.map((m) => html`<td>${h.success[m]}</td><td>${h.failure[m]}</td>`)}</tr>`)}</tbody></table></div>
</details>`;
}

function hourLabel(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
}

/** 1, 2, 5, 10, 20, 50…: an axis top at or above `n`. */
function niceCeiling(n: number): number {
  for (let p = 1; ; p *= 10) for (const f of [1, 2, 5]) if (f * p >= n) return f * p;
}
