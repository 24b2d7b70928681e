// The web console's conveniences; every page and form works without them (the CSP allows this file only).
// - a form with data-confirm asks before it is sent (deleting a user, revoking, retiring);
// - a button with data-copy copies the text of the element it names (a secret shown once);
// - a link with data-line in a JSON editor's problem list selects that line in the editor.
document.addEventListener('submit', (event) => {
  const form = event.target;
  if (form instanceof HTMLFormElement && form.dataset.confirm && !window.confirm(form.dataset.confirm)) event.preventDefault();
});

document.addEventListener('click', (event) => {
  const target = event.target instanceof Element ? event.target.closest('[data-copy],[data-line]') : null;
  if (!target) return;
  if (target instanceof HTMLElement && target.dataset.copy) {
    const source = document.getElementById(target.dataset.copy);
    if (source && navigator.clipboard) {
      navigator.clipboard.writeText(source.textContent.trim()).then(() => {
        target.textContent = 'Copied';
      });
    }
  }
  if (target instanceof HTMLElement && target.dataset.line) {
    const editor = document.getElementById(target.dataset.editor || 'json');
    if (!(editor instanceof HTMLTextAreaElement)) return;
    event.preventDefault();
    const lines = editor.value.split('\n');
    const line = Math.max(1, Math.min(lines.length, Number(target.dataset.line)));
    const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
    editor.focus();
    editor.setSelectionRange(start, start + lines[line - 1].length);
    // Scroll the line into view: the editor's lines are of equal height.
    editor.scrollTop = Math.max(0, ((line - 3) * editor.scrollHeight) / lines.length);
  }
});

// Copy buttons are only offered where they work.
for (const button of document.querySelectorAll('[data-copy]')) if (navigator.clipboard) button.hidden = false;
