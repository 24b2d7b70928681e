import { findNodeAtLocation, parseTree, type Node } from 'jsonc-parser';
import type { FileProblem } from '../../services/tenant-files.js';
import { html, type SafeHtml } from '../../ui/html.js';
import { csrfField, type Shell } from './layout.js';

/**
 * A JSON file in a text area, with the validator's problems placed where they are: each problem names
 * its JSON path and the line it points at, and an excerpt shows the lines around it with the message
 * under the line. (A path that does not exist in the text, such as a missing property, points at the
 * nearest part that does.) With the console's script a problem's link selects its line in the editor.
 */
export interface PlacedProblem extends FileProblem {
  /** 1-based line in the text, when the text parses far enough to find it. */
  line?: number;
}

/** `$.a.b[0].c` as segments. */
function segments(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const m of path.replace(/^\$/, '').matchAll(/\.([^.[\]]+)|\[(\d+)\]/g)) out.push(m[1] !== undefined ? m[1] : Number(m[2]));
  return out;
}

export function placeProblems(text: string, problems: FileProblem[]): PlacedProblem[] {
  const root = parseTree(text);
  const lineAt = (offset: number) => text.slice(0, offset).split('\n').length;
  return problems.map((p) => {
    const syntax = /at position (\d+)/.exec(p.message);
    if (syntax) return { ...p, line: lineAt(Number(syntax[1])) };
    if (!root) return p;
    let path = segments(p.path);
    let node: Node | undefined;
    while (!(node = findNodeAtLocation(root, path)) && path.length > 0) path = path.slice(0, -1);
    if (!node) return p;
    // A property's value: point at its key's line.
    const at = node.parent?.type === 'property' ? node.parent.offset : node.offset;
    return { ...p, line: lineAt(at) };
  });
}

export function jsonEditor(shell: Shell, o: { action: string; text: string; problems: PlacedProblem[]; writable: boolean; label: string; submit: string }): SafeHtml {
  const textLines = o.text.split('\n');
  const excerpt = (p: PlacedProblem) => {
    if (p.line === undefined) return '';
    const from = Math.max(1, p.line - 2);
    const to = Math.min(textLines.length, p.line + 2);
    const rows: SafeHtml[] = [];
    for (let n = from; n <= to; n++) {
      rows.push(html`<li${n === p.line ? html` class="at"` : ''}><span class="n">${n}</span>${textLines[n - 1] ?? ''}</li>`);
      if (n === p.line) rows.push(html`<li class="why">↑ ${p.message}</li>`);
    }
    return html`<ol class="excerpt" aria-hidden="true">${rows}</ol>`;
  };
  const problems = o.problems.length > 0
    ? html`<section class="error" role="alert" aria-labelledby="h-problems"><h2 id="h-problems">Not saved: ${o.problems.length === 1 ? 'one problem' : `${o.problems.length} problems`}</h2>
<p>The file is unchanged and the last good version stays live.</p>
<ul class="problems" id="json-problems">${o.problems.map((p) => html`<li><code>${p.path}</code>${p.line !== undefined ? html` (<a href="#json" data-line="${p.line}">line ${p.line}</a>)` : ''}: ${p.message}${excerpt(p)}</li>`)}</ul></section>`
    : '';
  const area = html`<div class="field wide"><label for="json">${o.label}</label><textarea id="json" name="json" class="json" spellcheck="false" rows="28"${o.problems.length > 0 ? html` aria-invalid="true" aria-describedby="json-problems"` : ''}${o.writable ? '' : html` readonly`}>${o.text}</textarea></div>`;
  return html`${problems}${o.writable ? html`<form method="post" action="${shell.base}${o.action}">${csrfField(shell)}${area}<div class="buttons"><button type="submit">${o.submit}</button></div></form>` : area}`;
}
